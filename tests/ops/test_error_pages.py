"""Django-level errors (before any view runs) keep the API's JSON envelope."""


def test_disallowed_host_under_api_is_a_json_400(client, db):
    response = client.get("/api/v2/contacts/m1?location_id=loc_main", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert response.json()["reason_code"] == "VALIDATION_ERROR"


def test_disallowed_host_on_an_admin_page_is_the_html_400(client, db):
    response = client.get("/accounts/login/", HTTP_HOST="evil.example")
    assert response.status_code == 400 and response["Content-Type"].startswith("text/html")
