"""One embed page is at most five SQL queries, however big the location (SPEC §5.4 asks for
fast pages inside GHL's iframe)."""

import pytest

from tests.embed.conftest import grant, refused_booking

pytestmark = pytest.mark.django_db
BUDGET = 5


@pytest.fixture
def busy_studio(studio, package):
    for n in range(30):
        grant(studio, f"extra-{n}", package, f"pay-extra-{n}", f"Extra {n}")
        refused_booking(studio, f"extra-{n}", n=n + 10)
    return studio


@pytest.mark.parametrize(
    "path",
    [
        "/embed/dashboard",
        "/embed/dashboard?q=member",
        "/embed/panel?contact_id=member-2",
        "/embed/panel?contact_id=nobody",
    ],
)
def test_each_page_stays_within_five_queries(
    embed_client, busy_studio, path, django_assert_max_num_queries
):
    with django_assert_max_num_queries(BUDGET):
        assert embed_client.get(path).status_code in (200, 404)


def test_the_dashboard_does_not_grow_with_members(
    embed_client, studio, package, django_assert_num_queries
):
    with django_assert_num_queries(BUDGET):
        embed_client.get("/embed/dashboard")
    grant(studio, "one-more", package, "pay-one-more", "One More")
    with django_assert_num_queries(BUDGET):
        embed_client.get("/embed/dashboard")
