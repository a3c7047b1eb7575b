"""Encrypt like GoHighLevel does (CryptoJS passphrase mode), for tests: the inverse of
embed.sso.decrypt, with the key derivation that tests/embed/test_sso.py checks against
crypto-js 4.2.0."""

import base64
import json
import os

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from embed.sso import evp_bytes_to_key

SECRET = "test-shared-secret"


def encrypt(plaintext: str, secret: str = SECRET, salt: bytes | None = None) -> str:
    salt = salt or os.urandom(8)
    key, iv = evp_bytes_to_key(secret.encode(), salt)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext.encode()) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    body = encryptor.update(padded) + encryptor.finalize()
    return base64.b64encode(b"Salted__" + salt + body).decode()


def user_context(location_id: str = "loc_main", **overrides) -> dict:
    """The JSON GHL encrypts for a user inside a sub-account (INTEGRATIONS.md)."""
    context = {
        "userId": "ghl_user_jane",
        "companyId": "ghl_company_1",
        "role": "admin",
        "type": "location",
        "activeLocation": location_id,
        "userName": "Jane Front Desk",
        "email": "jane@example.com",
    }
    context.update(overrides)
    return context


def ghl_payload(location_id: str = "loc_main", secret: str = SECRET, **overrides) -> str:
    return encrypt(json.dumps(user_context(location_id, **overrides)), secret)
