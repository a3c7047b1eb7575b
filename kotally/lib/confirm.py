"""The page that asks before an action that removes, revokes or costs something: the list's
button is a link to the action's URL, whose GET renders this page (changing nothing) and whose
POST — this page's form — acts. Works without JavaScript."""

from dataclasses import dataclass

from django.shortcuts import render


@dataclass(frozen=True)
class Choice:
    """One radio group on the page (e.g. when a rotated token's old secret stops working)."""

    name: str
    legend: str
    options: list[tuple[str, str]]  # (value, label); the first is checked


def confirm_page(
    request,
    *,
    title: str,
    happens: list[str],
    button: str,
    back: str,
    cost: str = "",
    danger: bool = True,
    choice: Choice | None = None,
    error: str = "",
    status: int = 200,
):
    """The page; with `error` (and a 4xx `status`) again after a submission it refused."""
    return render(
        request,
        "confirm.html",
        {
            "title": title,
            "happens": happens,
            "cost": cost,
            "button": button,
            "back": back,
            "danger": danger,
            "choice": choice,
            "error": error,
            "action": request.get_full_path(),
        },
        status=status,
    )
