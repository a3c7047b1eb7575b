import pytest
import responses

from tests.factories import LocationFactory

from .conftest import API, make_installation

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue(ghl):
    ghl.add(
        responses.GET,
        f"{API}/products/",
        json={"products": [{"_id": "prod_1", "name": "10-Class Pack"}], "total": 1},
    )
    ghl.add(
        responses.GET,
        f"{API}/products/prod_1/price",
        json={"prices": [{"_id": "price_1", "name": "One-off", "amount": 99, "currency": "USD"}]},
    )
    ghl.add(
        responses.GET, f"{API}/calendars/", json={"calendars": [{"id": "cal_yoga", "name": "Yoga"}]}
    )
    return ghl


def test_pickers_list_products_with_prices_and_calendars(signed_in, workspace, catalogue):
    make_installation(workspace)
    body = signed_in.get("/integrations/ghl/locations/ghl_loc_1/pickers").json()
    assert body["products"] == [
        {
            "id": "prod_1",
            "name": "10-Class Pack",
            "prices": [{"id": "price_1", "name": "One-off", "amount": 99, "currency": "USD"}],
        }
    ]
    assert body["calendars"] == [{"id": "cal_yoga", "name": "Yoga"}]


def test_pickers_are_cached_briefly(signed_in, workspace, catalogue):
    make_installation(workspace)
    signed_in.get("/integrations/ghl/locations/ghl_loc_1/pickers")
    signed_in.get("/integrations/ghl/locations/ghl_loc_1/pickers")
    assert len(catalogue.calls) == 3


def test_pickers_of_another_workspace_location_are_not_found(signed_in, stranger_workspace):
    make_installation(stranger_workspace, location_id="ghl_theirs")
    response = signed_in.get("/integrations/ghl/locations/ghl_theirs/pickers")
    assert response.status_code == 404


def test_pickers_of_a_disconnected_location_say_so(signed_in, workspace):
    LocationFactory(workspace=workspace, location_id="ghl_gone", kind="ghl", status="disconnected")
    response = signed_in.get("/integrations/ghl/locations/ghl_gone/pickers")
    assert (response.status_code, response.json()["reason_code"]) == (409, "GHL_NOT_CONNECTED")
