"""Where Kotally may send webhooks: HTTPS to public addresses only (no SSRF into our own
network). With OUTBOUND_ALLOW_PRIVATE_URLS (on when DJANGO_DEBUG) http:// and private or
loopback hosts are allowed, so a local receiver works in development."""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings


class UnsafeUrl(ValueError):
    """The URL may not receive webhooks; the message says why, for the form."""


def check_url(url: str) -> None:
    """Raise UnsafeUrl unless `url` is https:// to a host whose every address is public.

    Checked when the endpoint is saved and again before every attempt, since DNS can change
    (a name re-pointed at 127.0.0.1 after it was saved)."""
    parts = urlsplit(url)
    allow_private = settings.OUTBOUND_ALLOW_PRIVATE_URLS
    if parts.scheme != "https" and not (allow_private and parts.scheme == "http"):
        raise UnsafeUrl("Use an https:// URL.")
    if not parts.hostname:
        raise UnsafeUrl("The URL has no host.")
    if allow_private:
        return
    try:
        port = parts.port or 443
        addresses = {
            info[4][0] for info in socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
        }
    except (socket.gaierror, UnicodeError, ValueError) as exc:
        raise UnsafeUrl(f"{parts.hostname} does not resolve.") from exc
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if not ip.is_global or ip.is_multicast:
            raise UnsafeUrl(
                f"{parts.hostname} resolves to a private or reserved address ({ip}); "
                "webhooks go to public hosts only."
            )
