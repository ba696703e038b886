"""Reading Binance query parameters (integers, limits, symbol lists)."""

import json

from paper.errors import PaperError


def int_param(params: dict, name: str, default: int | None = None) -> int | None:
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise PaperError.illegal(name) from None


def limit_param(params: dict, default: int, maximum: int) -> int:
    value = int_param(params, "limit", default)
    if value < 1:
        raise PaperError.invalid_value("limit")
    return min(value, maximum)


def symbols_param(params: dict) -> list[str] | None:
    """Return `symbol` or the JSON array `symbols` as a list, or None for all symbols."""
    if params.get("symbol"):
        return [params["symbol"]]
    raw = params.get("symbols")
    if not raw:
        return None
    try:
        symbols = json.loads(raw)
    except ValueError:
        raise PaperError.invalid_value("symbols") from None
    if not isinstance(symbols, list) or not all(isinstance(s, str) for s in symbols):
        raise PaperError.invalid_value("symbols")
    return symbols


def required(params: dict, name: str) -> str:
    value = params.get(name)
    if not value:
        raise PaperError.mandatory(name)
    return value


def paged(queryset, params: dict, id_field: str, time_field: str, id_param: str):
    """Binance paging: from an id, or a time window, else the most recent `limit`."""
    limit = limit_param(params, 500, 1000)
    start, end = int_param(params, "startTime"), int_param(params, "endTime")
    from_id = int_param(params, id_param)
    if from_id is not None:
        return list(queryset.filter(**{f"{id_field}__gte": from_id}).order_by(id_field)[:limit])
    if start is not None or end is not None:
        if start is not None:
            queryset = queryset.filter(**{f"{time_field}__gte": start})
        if end is not None:
            queryset = queryset.filter(**{f"{time_field}__lte": end})
        if start is not None:
            return list(queryset.order_by(time_field, id_field)[:limit])
    return list(reversed(queryset.order_by(f"-{id_field}")[:limit]))
