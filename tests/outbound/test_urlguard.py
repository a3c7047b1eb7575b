import pytest

from outbound.urlguard import UnsafeUrl, check_url


@pytest.fixture(autouse=True)
def production(settings):
    settings.OUTBOUND_ALLOW_PRIVATE_URLS = False


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://10.1.2.3/hook",
        "https://192.168.0.10/hook",
        "https://172.16.5.5/hook",
        "https://169.254.169.254/latest/meta-data",  # cloud metadata
        "https://100.64.0.1/hook",  # carrier-grade NAT
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://0.0.0.0/hook",
    ],
)
def test_private_loopback_and_reserved_addresses_are_refused(url):
    with pytest.raises(UnsafeUrl):
        check_url(url)


def test_plain_http_is_refused_in_production():
    with pytest.raises(UnsafeUrl, match="https"):
        check_url("http://93.184.216.34/hook")


def test_https_to_a_public_address_is_allowed():
    check_url("https://93.184.216.34/hook")


def test_debug_allows_a_local_http_receiver(settings):
    settings.OUTBOUND_ALLOW_PRIVATE_URLS = True
    check_url("http://127.0.0.1:8001/hook")
