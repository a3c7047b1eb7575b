"""GHL webhook signatures over the raw request body (INTEGRATIONS.md, GHL — webhooks).

`X-GHL-Signature` (Ed25519, base64) is authoritative whenever present: a bad one is never
rescued by the legacy `X-WH-Signature` (RSA PKCS#1 v1.5, SHA-256, base64), which is only
consulted when the Ed25519 header is absent.
"""

import base64
import binascii

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from django.conf import settings

# DEVELOPMENT ONLY: the public half of the key pair `manage.py ghl_simulate` signs with.
# Accepted only when DJANGO_DEBUG=True, so simulated webhooks never verify in production.
DEV_ED25519_PUBLIC_KEY = (
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEAxOGINKrAP9Q6jxHM5dT9FuevkzjBn6iELC9AiCDDYDE=\n"
    "-----END PUBLIC KEY-----\n"
)

ED25519 = "ed25519"
RSA = "rsa"


def _load(pem: str):
    return serialization.load_pem_public_key(pem.strip().encode())


def _decode(signature: str) -> bytes | None:
    try:
        return base64.b64decode(signature.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None


def _ed25519_keys() -> list[ed25519.Ed25519PublicKey]:
    pems = [settings.GHL_WEBHOOK_ED25519_PUBLIC_KEY]
    if settings.DEBUG:
        pems.append(DEV_ED25519_PUBLIC_KEY)
    keys = [_load(pem) for pem in pems if pem]
    return [key for key in keys if isinstance(key, ed25519.Ed25519PublicKey)]


def _ed25519_ok(body: bytes, signature: bytes) -> bool:
    for key in _ed25519_keys():
        try:
            key.verify(signature, body)
            return True
        except InvalidSignature:
            continue
    return False


def _rsa_ok(body: bytes, signature: bytes) -> bool:
    pem = settings.GHL_WEBHOOK_RSA_PUBLIC_KEY
    if not pem:
        return False
    key = _load(pem)
    if not isinstance(key, rsa.RSAPublicKey):
        return False
    try:
        key.verify(signature, body, padding.PKCS1v15(), hashes.SHA256())
        return True
    except InvalidSignature:
        return False


def verify(body: bytes, *, ghl_signature: str | None, legacy_signature: str | None) -> str | None:
    """The scheme that verified `body` (ED25519 or RSA), or None when nothing did."""
    if ghl_signature:
        decoded = _decode(ghl_signature)
        return ED25519 if decoded and _ed25519_ok(body, decoded) else None
    if legacy_signature:
        decoded = _decode(legacy_signature)
        return RSA if decoded and _rsa_ok(body, decoded) else None
    return None
