"""Per-client token bucket (SPEC §3.10): headers, 429 RATE_LIMITED with Retry-After, hits
recorded on the ApiClient; in-process by default, shared through Redis when REDIS_URL is set."""

import os

import pytest
from rest_framework.test import APIClient

from api import ratelimit
from api.models import ApiClient

from .conftest import read_url


@pytest.fixture
def small_bucket(settings):
    """Three requests of burst, refilling one every 100 s; in-process bucket."""
    settings.API_RATE_LIMIT_BURST = 3
    settings.API_RATE_LIMIT_PER_SECOND = 0.01
    settings.REDIS_URL = ""


def _calls(api, n):
    return [api.get(read_url("m1", "")) for _ in range(n)]


def test_responses_carry_limit_and_remaining(api, location, small_bucket):
    first, second = _calls(api, 2)
    assert (first["X-RateLimit-Limit"], first["X-RateLimit-Remaining"]) == ("3", "2")
    assert second["X-RateLimit-Remaining"] == "1"


def test_request_past_the_burst_is_429_with_retry_after(api, location, small_bucket):
    *_, refused = _calls(api, 4)
    assert refused.status_code == 429
    assert refused.json()["reason_code"] == "RATE_LIMITED" and refused.json()["message"]
    assert int(refused["Retry-After"]) >= 1 and refused["X-RateLimit-Remaining"] == "0"
    assert refused["X-Correlation-Id"] == refused.json()["correlation_id"]


def test_rate_limited_hits_are_counted_on_the_client(api, location, small_bucket):
    _calls(api, 5)
    client = ApiClient.objects.get(location=location)
    assert client.rate_limited_count == 2
    assert client.last_rate_limited_at is not None


def test_bucket_refills_with_time(api, location, settings, monkeypatch):
    settings.API_RATE_LIMIT_BURST, settings.API_RATE_LIMIT_PER_SECOND = 1, 1.0
    settings.REDIS_URL = ""
    clock = [1_000_000.0]
    monkeypatch.setattr(ratelimit.time, "time", lambda: clock[0])
    first, refused = _calls(api, 2)
    clock[0] += 1.0
    (later,) = _calls(api, 1)
    assert (first.status_code, refused.status_code, later.status_code) == (200, 429, 200)
    assert refused["Retry-After"] == "1"


def test_buckets_are_per_client(api, location, stranger_token, small_bucket):
    _calls(api, 4)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {stranger_token}")
    assert api.get(read_url("m1", "")).status_code == 403  # its own bucket is full


def test_unauthenticated_calls_do_not_spend_a_clients_tokens(api, location, small_bucket):
    for _ in range(5):
        APIClient().get(read_url("m1", ""))
    assert _calls(api, 1)[0]["X-RateLimit-Remaining"] == "2"


@pytest.fixture
def redis_bucket(settings):
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("needs Redis: set REDIS_URL=redis://127.0.0.1:6379/<db> for the shared bucket")
    settings.REDIS_URL = url
    settings.API_RATE_LIMIT_BURST = 3
    settings.API_RATE_LIMIT_PER_SECOND = 0.01


def test_redis_bucket_is_shared_beyond_this_process(api, location, redis_bucket):
    _calls(api, 3)
    ratelimit.reset_local()  # what another web process would start from
    (refused,) = _calls(api, 1)
    assert refused.status_code == 429
    assert refused.json()["reason_code"] == "RATE_LIMITED"


def test_redis_bucket_state_lives_in_redis(api, location, redis_bucket, settings):
    import redis

    _calls(api, 2)
    client_id = ApiClient.objects.get(location=location).client_id
    state = redis.Redis.from_url(settings.REDIS_URL).hgetall(f"ratelimit:{client_id}")
    assert float(state[b"t"]) == pytest.approx(1, abs=0.05)


def test_unreachable_redis_fails_open(api, location, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    settings.API_RATE_LIMIT_BURST = 1
    responses = _calls(api, 3)
    assert [r.status_code for r in responses] == [200, 200, 200]
