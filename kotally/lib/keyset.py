"""Keyset pagination: a page is "the next N rows after this sort key", never an OFFSET, and
no page runs COUNT(*), so a page costs the same at row 50 and at row 5,000,000.

A cursor is the opaque, URL-safe encoding of the sort key of one row. `window` reads a page
after (older) or before (newer) a cursor, in an order whose fields all sort the same way and
end with the primary key, so the key is unique and every row has one place.
"""

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import DateTimeField, Q, QuerySet

from kotally.lib.timeutil import parse_aware

# Every keyed number (ids, balances) is a PostgreSQL bigint at most: a forged one outside it
# is not a key this module wrote.
BIGINT = (-(2**63), 2**63 - 1)


class BadCursor(ValueError):
    pass


def encode_cursor(values: list) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, arity: int) -> list | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError, RecursionError) as exc:
        raise BadCursor("cursor is not one this API returned") from exc
    if not isinstance(values, list) or len(values) != arity:
        raise BadCursor("cursor is not one this API returned")
    return values


@dataclass(frozen=True)
class Window:
    object_list: list
    next_cursor: str | None  # the page after the last row, in list order
    prev_cursor: str | None  # the page before the first row


def _key(row, fields: list[str]) -> list:
    values = [getattr(row, f) for f in fields]
    return [v.isoformat() if isinstance(v, datetime) else v for v in values]


def _parse(model, fields: list[str], cursor: str) -> list:
    values = decode_cursor(cursor, len(fields))
    parsed = []
    for name, value in zip(fields, values, strict=True):
        field = model._meta.get_field(name)
        try:
            if isinstance(field, DateTimeField):
                value = parse_aware(value)
                # A forged extreme timestamp would overflow when the database converts it.
                if not 1970 <= value.year <= 2999:
                    raise ValueError("timestamp out of range")
            elif isinstance(value, int) and BIGINT[0] <= value <= BIGINT[1]:
                value = field.to_python(value)
            else:
                raise ValueError("not a number")
        except (AttributeError, ValueError, ValidationError) as exc:
            raise BadCursor("cursor is not one this page returned") from exc
        parsed.append(value)
    return parsed


def _beyond(fields: list[str], values: list, descending: bool) -> Q:
    """Rows strictly past `values` in the order. The leading field's bound is repeated on its
    own (`a <= v AND (a < v OR ...)`) so the database uses it as an index range, not a filter."""
    strict, loose = ("lt", "lte") if descending else ("gt", "gte")
    past = Q(**{f"{fields[-1]}__{strict}": values[-1]})
    for name, value in zip(fields[-2::-1], values[-2::-1], strict=True):
        past = Q(**{f"{name}__{strict}": value}) | (Q(**{name: value}) & past)
    return Q(**{f"{fields[0]}__{loose}": values[0]}) & past


def _read(qs: QuerySet, fields, descending, limit, partition) -> list:
    order = [f"-{f}" if descending else f for f in fields]
    if partition is None:
        return list(qs.order_by(*order)[:limit])
    column, keys = partition
    keys = list(keys)
    if len(keys) < 2 or not connection.features.supports_slicing_ordering_in_compound:
        return list(qs.filter(**{f"{column}__in": keys}).order_by(*order)[:limit])
    # One index range scan per partition (e.g. per location), merged: the first `limit` keys
    # of each partition, then the rows of the overall first `limit`. A single query over all
    # partitions would read and sort every row of the workspace.
    branches = [
        qs.filter(**{column: key}).order_by(*order).values_list(*fields)[:limit] for key in keys
    ]
    merged = branches[0].union(*branches[1:], all=True).order_by(*order)[:limit]
    pks = [values[-1] for values in merged]
    by_pk = qs.in_bulk(pks)
    return [by_pk[pk] for pk in pks]


def window(
    qs: QuerySet,
    order: tuple[str, ...],
    *,
    limit: int,
    after: str | None = None,
    before: str | None = None,
    partition: tuple[str, list] | None = None,
) -> Window:
    """Up to `limit` rows of `qs` in `order` (e.g. ("-created_at", "-id"); fields must be
    non-null and the last one the primary key), after the cursor `after` or before `before`.

    `partition` = (column, keys) reads the rows of several keys of an indexed column (a
    workspace's locations) as a merge of one index scan per key on PostgreSQL.
    Raises BadCursor for a cursor this function did not write.
    """
    descending = order[0].startswith("-")
    fields = [f.lstrip("-") for f in order]
    backwards = before is not None
    cursor = before if backwards else after
    unfiltered = qs
    if cursor:
        qs = qs.filter(_beyond(fields, _parse(qs.model, fields, cursor), descending ^ backwards))
    rows = _read(qs, fields, descending ^ backwards, limit + 1, partition)
    more = len(rows) > limit
    rows = rows[:limit]
    if backwards:
        if not more:  # back at the start: the first page, full
            return window(unfiltered, order, limit=limit, partition=partition)
        rows.reverse()
        next_cursor = encode_cursor(_key(rows[-1], fields))
        prev_cursor = encode_cursor(_key(rows[0], fields))
    else:
        next_cursor = encode_cursor(_key(rows[-1], fields)) if more else None
        prev_cursor = encode_cursor(_key(rows[0], fields)) if cursor and rows else None
    return Window(rows, next_cursor, prev_cursor)
