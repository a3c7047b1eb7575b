from urllib.parse import parse_qs, urlsplit

import pytest

pytestmark = pytest.mark.django_db


def test_connect_explains_when_ghl_is_not_configured(signed_in, settings):
    settings.GHL_CLIENT_ID = ""
    response = signed_in.get("/oauth/ghl/start")
    assert response.status_code == 200
    assert b"GHL_CLIENT_ID" in response.content


def test_callback_explains_when_ghl_is_not_configured(client, settings):
    settings.GHL_CLIENT_SECRET = ""
    response = client.get("/oauth/ghl/callback?code=abc")
    assert response.status_code == 200
    assert b"not configured" in response.content


def test_connect_redirects_to_choose_location_with_state_in_session(signed_in):
    response = signed_in.get("/oauth/ghl/start")
    url = urlsplit(response["Location"])
    query = parse_qs(url.query)
    assert f"{url.scheme}://{url.netloc}{url.path}" == (
        "https://marketplace.gohighlevel.com/oauth/chooselocation"
    )
    assert query["redirect_uri"] == ["https://kotally.test/oauth/ghl/callback"]
    assert query["response_type"] == ["code"] and "calendars/events.readonly" in (
        query["scope"][0].split(" ")
    )
    assert query["state"] == [signed_in.session["ghl_oauth_state"]]


def test_connect_is_refused_to_viewers(client, viewer):
    client.force_login(viewer)
    assert client.get("/oauth/ghl/start").status_code == 403
