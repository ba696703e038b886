"""CSV export of audit events, safe to open in a spreadsheet."""

import csv
import json
from collections.abc import Iterable, Iterator

from accounts.models import AuditEvent

CSV_COLUMNS = (
    "seq",
    "created_at",
    "event_type",
    "outcome",
    "actor_id",
    "actor_username",
    "target_type",
    "target_id",
    "ip_address",
    "user_agent",
    "detail",
    "prev_hash",
    "hash",
)
# A cell starting with one of these is run as a formula by spreadsheets; usernames and
# user agents come from anyone who reaches the login page.
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    elif hasattr(value, "isoformat"):
        text = value.isoformat()
    else:
        text = str(value)
    return "'" + text if text.startswith(_FORMULA_PREFIXES) else text


class _Echo:
    def write(self, value: str) -> str:
        return value


def audit_events_csv_lines(*, events: Iterable[AuditEvent]) -> Iterator[str]:
    """Yield the CSV text, header first, one line per event."""
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    for event in events:
        yield writer.writerow([_cell(getattr(event, column)) for column in CSV_COLUMNS])
