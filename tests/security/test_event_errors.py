"""Issue 13 item 4: a crash while processing an event shows members a reason in words and a
correlation id; the traceback goes to the logs and /staff/ only."""

import re

import pytest

from inbox import processing
from inbox.models import EventStatus, InboundEvent, Provider
from tests.factories import UserFactory


def _boom(event):
    raise RuntimeError("internal detail: /srv/kotally/secret.py")


@pytest.fixture
def crashed(monkeypatch, location):
    monkeypatch.setitem(processing._HANDLERS, (Provider.GHL, "Boom"), processing.Handler(_boom))
    event = InboundEvent.objects.create(
        provider=Provider.GHL, event_id="evt-boom", event_type="Boom", location=location, payload={}
    )
    processing.process(event.pk)
    event.refresh_from_db()
    assert event.status == EventStatus.FAILED
    return event


def _correlation_id(event) -> str:
    return re.search(r"Correlation id: (\S+)", event.last_error).group(1)


@pytest.mark.parametrize("page", ["/events/", "/events/{pk}/"])
def test_members_see_a_reason_and_correlation_id_never_the_traceback(login, viewer, crashed, page):
    html = login(viewer).get(page.format(pk=crashed.pk)).content.decode()
    assert "Traceback" not in html and "secret.py" not in html
    assert "Processing failed unexpectedly" in html and _correlation_id(crashed) in html


def test_the_traceback_is_logged_with_the_correlation_id(caplog, monkeypatch, location):
    monkeypatch.setitem(processing._HANDLERS, (Provider.GHL, "Boom"), processing.Handler(_boom))
    event = InboundEvent.objects.create(
        provider=Provider.GHL, event_id="evt-boom", event_type="Boom", location=location, payload={}
    )
    processing.process(event.pk)
    event.refresh_from_db()
    record = next(r for r in caplog.records if r.name == "kotally.events")
    assert _correlation_id(event) in record.getMessage() and "secret.py" in record.exc_text


def test_staff_see_the_traceback_on_the_support_admin(login, crashed):
    superuser = UserFactory(email="ops@kotally.test", is_staff=True, is_superuser=True)
    html = login(superuser).get(f"/staff/inbox/inboundevent/{crashed.pk}/change/").content
    assert b"Traceback" in html and b"secret.py" in html
