"""The one request parser of /api/v2: bounded JSON (SPEC §3.1 → 400 VALIDATION_ERROR).

Bodies are tiny (metadata ≤ 16 KB), so anything larger, deeper or not storable is refused
before a serializer or the database sees it.
"""

import json

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from kotally.lib.text import first_problem, reject_constant

MAX_BODY_BYTES = 64 * 1024
MAX_DEPTH = 32


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read(MAX_BODY_BYTES + 1)
        if len(raw) > MAX_BODY_BYTES:
            raise ParseError(f"The body is larger than {MAX_BODY_BYTES // 1024} KB.")
        try:
            data = json.loads(raw.decode("utf-8"), parse_constant=reject_constant)
        except RecursionError:
            raise ParseError("The body is nested too deeply.") from None
        except ValueError as exc:  # includes UnicodeDecodeError and JSONDecodeError
            raise ParseError(f"The body is not valid JSON: {exc}") from None
        if problem := first_problem(data, MAX_DEPTH):
            raise ParseError(problem)
        return data
