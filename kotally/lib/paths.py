"""The `key` path converter: a URL segment that names a row by a text id (a location id, a
public id). Like `str` (anything but "/"), but without NUL: PostgreSQL text cannot hold one, so
such a segment names nothing and the resolver answers 404 instead of the lookup failing with
a database error (a 500).

Import this module in a urls.py before using `<key:...>`: importing it registers the converter.
"""

from django.urls import register_converter


class KeyConverter:
    regex = "[^/\x00]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(KeyConverter, "key")
