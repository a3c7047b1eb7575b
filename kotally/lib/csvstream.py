"""CSV downloads streamed row by row: the response starts at once and memory stays flat
whatever the number of rows (the rows come from a server-side cursor)."""

import csv
import itertools
from collections.abc import Iterable
from datetime import datetime

from django.http import StreamingHttpResponse

from .timeutil import iso_z


class _Line:
    """csv.writer's file: hands back each formatted line instead of storing it."""

    def write(self, line):
        return line


def cell(value):
    if isinstance(value, datetime):
        return iso_z(value)
    # A leading =, +, - or @ would run as a formula in a spreadsheet (CSV injection).
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def csv_download(filename: str, header: Iterable[str], rows: Iterable) -> StreamingHttpResponse:
    writer = csv.writer(_Line())
    lines = itertools.chain(
        [writer.writerow(header)], (writer.writerow([cell(v) for v in row]) for row in rows)
    )
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
