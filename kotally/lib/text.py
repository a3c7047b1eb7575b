"""Text the database can hold, checked where it enters.

PostgreSQL's text and jsonb cannot hold NUL, and psycopg cannot encode a lone surrogate
("\\ud800" is legal JSON): a value with either reaching a query is a DataError or a
UnicodeEncodeError, i.e. a 500, instead of the clear 4xx bad input gets. No stored row can
hold such a value either, so as a lookup key it names nothing.
"""

from django import forms
from django.core.exceptions import BadRequest


def text_problem(value: str) -> str | None:
    """Why the database cannot take `value`, or None."""
    if "\x00" in value:
        return "Strings must not contain NUL characters."
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "Strings must be valid Unicode (no unpaired surrogates)."
    return None


def db_safe(value: str) -> bool:
    return text_problem(value) is None


def first_problem(value, max_depth: int | None = None) -> str | None:
    """The first string (key or value) of parsed JSON the database cannot take, or a nesting
    deeper than `max_depth`; None when there is none. Walks without recursion, so a deep body
    cannot exhaust the stack."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if problem := text_problem(item):
                return problem
            continue
        if isinstance(item, dict):
            children = [*item.keys(), *item.values()]
        elif isinstance(item, list):
            children = item
        else:
            continue
        if max_depth is not None and depth > max_depth:
            return f"The body is nested more than {max_depth} levels deep."
        stack.extend((child, depth + 1) for child in children)
    return None


def reject_constant(name):
    """json.loads(parse_constant=...): NaN and ±Infinity are not JSON (nor storable in jsonb)."""
    raise ValueError(f"{name} is not valid JSON")


QUERY_MAX = 255  # the longest stored value a filter or search compares with


def query_text(request, name: str) -> str:
    """The query parameter `name`, stripped ("" when absent). A value the database cannot
    compare, or longer than any stored value it is compared with (SQLite even refuses such a
    LIKE pattern), is 400 Bad Request (the admin's 400 page), like a forged page cursor."""
    value = request.GET.get(name, "").strip()
    if len(value) > QUERY_MAX:
        raise BadRequest(f"{name}: at most {QUERY_MAX} characters")
    if problem := text_problem(value):
        raise BadRequest(f"{name}: {problem}")
    return value


class KeyChoiceField(forms.ModelChoiceField):
    """A ModelChoiceField chosen by a text key (`to_field_name`): a value the database cannot
    compare is "not one of the available choices" instead of a database error."""

    def to_python(self, value):
        if isinstance(value, str) and not db_safe(value):
            raise forms.ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice"
            )
        return super().to_python(value)
