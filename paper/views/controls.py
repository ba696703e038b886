"""The staff-only test-controls page (routed only when PAPER_TEST_CONTROLS is on)."""

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import redirect, render

from paper.clock import clock_read
from paper.forms import ClockForm, FaultForm, PriceForm
from paper.models import Fault, PriceAnchor
from paper.services import controls as svc

CLOCK_ACTIONS = {
    "freeze": lambda d: svc.clock_freeze(),
    "resume": lambda d: svc.clock_resume(),
    "advance": lambda d: svc.clock_advance(seconds=d["seconds"]),
    "skew": lambda d: svc.clock_skew(ms=d["seconds"] * 1000),
    "reset": lambda d: svc.controls_reset(),
}


def _price(data):
    if data.get("minutes"):
        return svc.price_move(symbol=data["symbol"], price=data["price"], minutes=data["minutes"])
    return svc.price_set(symbol=data["symbol"], price=data["price"])


def _fault(data):
    return svc.fault_add(
        kind=data["kind"],
        endpoint=data["endpoint"],
        method=data["method"],
        value=data["value"] or 0,
        count=data["count"],
    )


FORMS = {
    "clock": (ClockForm, lambda d: CLOCK_ACTIONS[d["action"]](d)),
    "price": (PriceForm, _price),
    "fault": (FaultForm, _fault),
    "clear_faults": (None, lambda d: svc.faults_clear()),
    "clear_prices": (None, lambda d: svc.prices_clear()),
}


@staff_member_required
def controls(request):
    """Show and change the simulated clock, pinned prices and injected faults."""
    if request.method == "POST" and request.POST.get("form") in FORMS:
        form_class, action = FORMS[request.POST["form"]]
        form = form_class(request.POST) if form_class else None
        if form is None or form.is_valid():
            action(form.cleaned_data if form else {})
            messages.success(request, "Done.")
        else:
            messages.error(request, "; ".join(str(e) for e in form.errors.values()))
        return redirect("paper:controls")
    context = {
        "now": clock_read(),
        "clock_form": ClockForm(),
        "price_form": PriceForm(),
        "fault_form": FaultForm(),
        "faults": Fault.objects.all(),
        "anchors": PriceAnchor.objects.order_by("-minute")[:20],
    }
    return render(request, "paper/controls.html", context)
