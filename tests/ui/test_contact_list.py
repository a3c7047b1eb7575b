"""The contacts list at scale: keyset pages, stored balances and filters, indexed search, the
streamed CSV export, and a query count that does not grow with the page or the data."""

import csv
import io
import tracemalloc
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from entitlements import selectors
from entitlements.models import Contact
from entitlements.selectors import CONTACTS_PAGE
from tests.factories import LocationFactory

pytestmark = pytest.mark.django_db


def _contacts(location, count, prefix="", **fields):
    start = timezone.now() - timedelta(days=1)
    Contact.objects.bulk_create(
        [
            Contact(
                location=location,
                external_id=f"{location.location_id}-{prefix}{i:06d}",
                created_at=start + timedelta(seconds=i),
                **fields,
            )
            for i in range(count)
        ]
    )


def _walk(client, params, forwards=True):
    """Every contact id, page by page, following the Next (or Previous) links."""
    seen, cursor_param = [], "after" if forwards else "before"
    page = client.get(reverse("contacts"), params).context["page"]
    while True:
        seen += [c.external_id for c in page.object_list]
        cursor = page.next_cursor if forwards else page.prev_cursor
        if not cursor:
            return seen
        page = client.get(reverse("contacts"), {**params, cursor_param: cursor}).context["page"]


def test_pages_list_every_contact_once_newest_first(login, viewer, location):
    _contacts(location, 2 * CONTACTS_PAGE + 7)
    seen = _walk(login(viewer), {})
    assert seen == sorted(Contact.objects.values_list("external_id", flat=True), reverse=True)


def test_pages_merge_the_workspace_locations_in_one_order(login, viewer, location, workspace):
    other = LocationFactory(workspace=workspace, location_id="loc_two")
    _contacts(location, CONTACTS_PAGE + 3)
    _contacts(other, CONTACTS_PAGE + 4)
    seen = _walk(login(viewer), {})
    expected = Contact.objects.order_by("-created_at", "-id").values_list("external_id", flat=True)
    assert seen == list(expected)


def test_previous_goes_back_to_the_page_before(login, viewer, location):
    _contacts(location, 3 * CONTACTS_PAGE)
    client = login(viewer)
    first = client.get(reverse("contacts")).context["page"]
    second = client.get(reverse("contacts"), {"after": first.next_cursor}).context["page"]
    third = client.get(reverse("contacts"), {"after": second.next_cursor}).context["page"]
    back = client.get(reverse("contacts"), {"before": third.prev_cursor}).context["page"]
    assert back.object_list == second.object_list
    assert back.prev_cursor and back.next_cursor == second.next_cursor


def test_a_forged_cursor_is_400(login, viewer, location):
    response = login(viewer).get(reverse("contacts"), {"after": "WyJub3QtYS1kYXRlIiwgMV0"})
    assert response.status_code == 400


def test_the_list_shows_each_contacts_stored_balance(login, viewer, member):
    html = login(viewer).get(reverse("contacts")).content.decode()
    assert '<td class="num">10</td>' in html


@pytest.mark.parametrize(
    ("show", "expected"),
    [("none", ["empty"]), ("low", ["low-1", "low-3"]), ("expiring", ["soon"])],
)
def test_filters_by_stored_balance_and_expiry(login, viewer, location, show, expected):
    now = timezone.now()
    for key, credits, expiry in [
        ("empty", 0, None),
        ("low-1", 1, None),
        ("low-3", 3, None),
        ("plenty", 9, None),
        ("soon", 9, now + timedelta(days=5)),
        ("later", 9, now + timedelta(days=90)),
    ]:
        Contact.objects.create(
            location=location, external_id=key, credits_available=credits, credits_expire_at=expiry
        )
    page = login(viewer).get(reverse("contacts"), {"show": show}).context["page"]
    assert [c.external_id for c in page.object_list] == expected


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("bulk-12", True),  # external id prefix
        ("ava.l", True),  # email prefix, any case
        ("@studio", True),  # email fragment
        ("lovelace", True),  # name fragment, any case
        ("ulk-12", False),  # an id matches by its start only
        ("ov", False),  # under three characters: no fragment search
    ],
)
def test_search(login, viewer, location, query, found):
    Contact.objects.create(
        location=location,
        external_id="bulk-123456",
        email="Ava.Lovelace@studio.example",
        name="Ava Lovelace",
    )
    page = login(viewer).get(reverse("contacts"), {"q": query}).context["page"]
    assert bool(page.object_list) is found


def _queries(client, params) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse("contacts"), params).status_code == 200
    return [q["sql"] for q in ctx.captured_queries]


# A search matching few contacts reads them by id; one matching more, per location.
READS = {"by id": selectors.FEW_MATCHES, "per location": 0}


@pytest.mark.parametrize("read", READS)
def test_search_pages_list_every_match_once_newest_first(
    login, viewer, location, workspace, monkeypatch, read
):
    monkeypatch.setattr(selectors, "FEW_MATCHES", READS[read])
    other = LocationFactory(workspace=workspace, location_id="loc_two")
    _contacts(location, CONTACTS_PAGE + 3, name="Ada Lovelace")
    _contacts(other, 4, prefix="x", name="Ada Lovelace")
    _contacts(location, 5, prefix="y", name="Grace Hopper")
    client = login(viewer)
    expected = list(
        Contact.objects.filter(name__icontains="lovelace")
        .order_by("-created_at", "-id")
        .values_list("external_id", flat=True)
    )
    first = client.get(reverse("contacts"), {"q": "LOVElace"}).context["page"]
    second = client.get(reverse("contacts"), {"q": "LOVElace", "after": first.next_cursor})
    back = client.get(
        reverse("contacts"), {"q": "LOVElace", "before": second.context["page"].prev_cursor}
    ).context["page"]
    assert _walk(client, {"q": "LOVElace"}) == expected
    assert back.object_list == first.object_list


@pytest.mark.parametrize("read", READS)
@pytest.mark.parametrize("show", ["", "none", "low", "expiring"])
@pytest.mark.parametrize("scope", ["workspace", "location"])
def test_list_queries_do_not_grow_with_the_contacts_and_never_count(
    login, viewer, location, workspace, monkeypatch, show, scope, read
):
    monkeypatch.setattr(selectors, "FEW_MATCHES", READS[read])
    LocationFactory(workspace=workspace, location_id="loc_two")
    client = login(viewer)
    params = {"show": show, "q": "loc"}
    if scope == "location":
        params["location"] = "loc_main"
    expiring = {"credits_available": 1, "credits_expire_at": timezone.now() + timedelta(days=1)}
    _contacts(location, 2, **expiring)
    _contacts(location, 2, prefix="none-")
    few = _queries(client, params)
    _contacts(LocationFactory(workspace=workspace, location_id="loc_three"), 1)
    Contact.objects.filter(location=location).delete()
    _contacts(location, 3 * CONTACTS_PAGE, **expiring)
    _contacts(location, 3 * CONTACTS_PAGE, prefix="none-")
    many = _queries(client, params)
    assert len(many) == len(few)
    assert not [sql for sql in many if "COUNT(" in sql.upper() and "_contact" in sql]


def _export(client, params=None) -> list[list[str]]:
    response = client.get(reverse("contacts-export"), params or {})
    assert response.streaming
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_export_writes_the_filtered_contacts(login, viewer, member, location):
    Contact.objects.create(location=location, external_id="no-credits", name="=HYPERLINK()")
    client = login(viewer)
    everyone = _export(client)
    empty = _export(client, {"show": "none"})
    assert everyone[0][:5] == ["contact_id", "name", "email", "location_id", "credits_available"]
    assert [row[0] for row in everyone[1:]] == ["no-credits", "member-1"]
    assert empty[1:] == [["no-credits", "'=HYPERLINK()", "", "loc_main", "0", "", empty[1][6]]]


def _peak_while_exporting(client) -> tuple[int, int]:
    """(peak bytes allocated while streaming the export, bytes streamed)."""
    response = client.get(reverse("contacts-export"))
    tracemalloc.start()
    try:
        size = sum(len(chunk) for chunk in response.streaming_content)
        return tracemalloc.get_traced_memory()[1], size
    finally:
        tracemalloc.stop()


def test_export_memory_does_not_grow_with_the_rows(login, viewer, location):
    client = login(viewer)
    _contacts(location, 3_000, name="A member with a name", email="member@example.com")
    small_peak, _ = _peak_while_exporting(client)
    _contacts(
        LocationFactory(workspace=location.workspace, location_id="loc_big"),
        27_000,
        name="A member with a name",
        email="member@example.com",
    )
    big_peak, big_size = _peak_while_exporting(client)
    assert big_size > 2_000_000  # the whole file would not fit under the peak below
    assert big_peak < small_peak * 1.5 + 200_000
