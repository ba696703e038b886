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
    """The faults matching one request; counted ones are consumed only when they fire."""

    before: list[Fault] = field(default_factory=list)
    after: list[Fault] = field(default_factory=list)


def _fire(fault: Fault) -> bool:
    if fault.remaining is None:
        return True
    # Conditional decrement: with several processes, each hit is consumed exactly once.
    return bool(
        Fault.objects.filter(pk=fault.pk, remaining__gt=0).update(remaining=F("remaining") - 1)
    )


def faults_for(endpoint: str, method: str) -> Plan:
    """Load the faults matching an endpoint and method (one query)."""
    plan = Plan()
    matching = Fault.objects.filter(
        Q(endpoint="") | Q(endpoint=endpoint), Q(method="") | Q(method=method)
    ).exclude(remaining=0)
    for fault in matching:
        (plan.before if fault.kind in BEFORE else plan.after).append(fault)
    return plan


def run_before(plan: Plan) -> None:
    """Apply latency, then refuse the request if an error fault fires (the first one only)."""
    for fault in plan.before:
        if fault.kind == Kind.LATENCY and _fire(fault):
            time.sleep(fault.value / 1000)
    for fault in plan.before:
        if fault.kind != Kind.LATENCY and _fire(fault):
            raise _error(fault)


def _error(fault: Fault) -> PaperError:
    if fault.kind == Kind.ERROR_500:
        return PaperError.internal()
    if fault.kind == Kind.ERROR_503:
        return PaperError.unavailable()
    error = PaperError(-1003, "Too many requests; IP banned until further notice.", 429)
    error.retry_after = max(1, fault.value)
    return error


def run_after(plan: Plan, body: bytes) -> tuple[int, bytes] | None:
    """After the request was processed: delay, or replace the answer (503 / broken JSON)."""
    for fault in plan.after:
        if fault.kind == Kind.DELAY_AFTER and _fire(fault):
            time.sleep(fault.value / 1000)
    for fault in plan.after:
        if fault.kind == Kind.UNKNOWN_AFTER and _fire(fault):
            error = PaperError.unknown_outcome()
            return error.status, json.dumps(error.body()).encode()
        if fault.kind == Kind.MALFORMED and _fire(fault):
            return 200, body[: max(1, len(body) // 2)]
    return None
