"""Injected faults as the API sees them: which apply to this request, before and after."""

import json
import time
from dataclasses import dataclass, field

from django.db.models import F, Q

from paper.errors import PaperError
from paper.models import Fault

Kind = Fault.Kind
BEFORE = (Kind.LATENCY, Kind.ERROR_500, Kind.ERROR_503, Kind.RATE_LIMIT)


@dataclass
class Plan:
    """The faults that fire for one request; counted ones are consumed when loaded."""

    before: list[Fault] = field(default_factory=list)
    after: list[Fault] = field(default_factory=list)


def _consume(fault: Fault) -> bool:
    if fault.remaining is None:
        return True
    # Conditional decrement: with several processes, each hit is consumed exactly once.
    return bool(
        Fault.objects.filter(pk=fault.pk, remaining__gt=0).update(remaining=F("remaining") - 1)
    )


def faults_for(endpoint: str, method: str) -> Plan:
    """Load the faults matching an endpoint and method (one query; usually none)."""
    plan = Plan()
    matching = Fault.objects.filter(
        Q(endpoint="") | Q(endpoint=endpoint), Q(method="") | Q(method=method)
    ).exclude(remaining=0)
    for fault in matching:
        if _consume(fault):
            (plan.before if fault.kind in BEFORE else plan.after).append(fault)
    return plan


def run_before(plan: Plan) -> None:
    """Apply latency, then refuse the request if an error fault says so."""
    for fault in plan.before:
        if fault.kind == Kind.LATENCY:
            time.sleep(fault.value / 1000)
    for fault in plan.before:
        if fault.kind == Kind.ERROR_500:
            raise PaperError.internal()
        if fault.kind == Kind.ERROR_503:
            raise PaperError.unavailable()
        if fault.kind == Kind.RATE_LIMIT:
            error = PaperError(-1003, "Too many requests; IP banned until further notice.", 429)
            error.retry_after = max(1, fault.value)
            raise error


def run_after(plan: Plan, body: bytes) -> tuple[int, bytes] | None:
    """After the request was processed: delay, or replace the answer (503 / broken JSON)."""
    result = None
    for fault in plan.after:
        if fault.kind == Kind.DELAY_AFTER:
            time.sleep(fault.value / 1000)
        elif fault.kind == Kind.UNKNOWN_AFTER:
            error = PaperError.unknown_outcome()
            result = (error.status, json.dumps(error.body()).encode())
        elif fault.kind == Kind.MALFORMED:
            result = (200, body[: max(1, len(body) // 2)])
    return result
