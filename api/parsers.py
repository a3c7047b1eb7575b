"""The one request parser of /api/v2: bounded JSON (SPEC §3.1 → 400 VALIDATION_ERROR).

Bodies are tiny (metadata ≤ 16 KB), so anything larger, deeper or not storable is refused
before a serializer or the database sees it.
"""

import json

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_BODY_BYTES = 64 * 1024
MAX_DEPTH = 32


def _reject_constant(name):
    raise ValueError(f"{name} is not valid JSON")


def _first_problem(value) -> str | None:
    """Walk the parsed body without recursion (a deep body must not exhaust the stack)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            # PostgreSQL text/jsonb cannot hold NUL, and psycopg cannot encode lone surrogates
            # ("\ud800" is legal JSON): both would otherwise surface as a 500.
            if "\x00" in item:
                return "Strings must not contain NUL characters."
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return "Strings must be valid Unicode (no unpaired surrogates)."
            continue
        if isinstance(item, dict):
            children = [*item.keys(), *item.values()]
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > MAX_DEPTH:
            return f"The body is nested more than {MAX_DEPTH} levels deep."
        stack.extend((child, depth + 1) for child in children)
    return None


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read(MAX_BODY_BYTES + 1)
        if len(raw) > MAX_BODY_BYTES:
            raise ParseError(f"The body is larger than {MAX_BODY_BYTES // 1024} KB.")
        try:
            data = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
        except RecursionError:
            raise ParseError("The body is nested too deeply.") from None
        except ValueError as exc:  # includes UnicodeDecodeError and JSONDecodeError
            raise ParseError(f"The body is not valid JSON: {exc}") from None
        if problem := _first_problem(data):
            raise ParseError(problem)
        return data
