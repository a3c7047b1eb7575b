"""`Kotally-Signature: t=<unix>,v1=<hex>`: HMAC-SHA256 with the endpoint's secret over
"<t>.<raw body>" — Stripe's scheme, so receivers can reuse what they know (README,
"Automate with Kotally", has a verification snippet)."""

import hashlib
import hmac
import secrets

HEADER = "Kotally-Signature"


def new_secret() -> str:
    return f"whsec_{secrets.token_hex(24)}"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode() + b"." + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"
