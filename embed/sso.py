"""GoHighLevel's SSO user context (INTEGRATIONS.md, "embedded pages and user context").

GHL encrypts it as `CryptoJS.AES.encrypt(JSON.stringify(context), sharedSecret).toString()`:
base64 of "Salted__" + 8-byte salt + AES-256-CBC ciphertext (PKCS#7), key and IV from
OpenSSL's EVP_BytesToKey (MD5, one iteration) over (secret, salt). `cryptography` does the AES
and the padding; EVP_BytesToKey is the one hand-written piece, checked against vectors made
by crypto-js 4.2.0 (tests/fixtures/ghl/sso_vectors.json).

The format has no MAC, timestamp or nonce: a context is only as fresh as the one who holds
it, so it is exchanged once for a short embed session (embed.sessions). Strict UTF-8 JSON
with the expected fields is required, so a bit-flipped ciphertext fails in practice.
"""

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

HEADER = b"Salted__"
MAX_PAYLOAD_CHARS = 8192  # a real context is a few hundred characters


class BadContext(ValueError):
    """Not a context encrypted with our shared secret, or not one Kotally can use."""


@dataclass(frozen=True)
class UserContext:
    """What Kotally uses of the context (it also carries companyId, role, type and email)."""

    user_id: str
    user_name: str
    active_location: str  # "" in the agency view


def evp_bytes_to_key(password: bytes, salt: bytes, key_len: int = 32, iv_len: int = 16):
    """OpenSSL's EVP_BytesToKey with MD5 and one iteration: D_i = MD5(D_{i-1} + password +
    salt), concatenated until there are key_len + iv_len bytes. MD5 is CryptoJS's choice."""
    derived = block = b""
    while len(derived) < key_len + iv_len:
        block = hashlib.md5(block + password + salt).digest()
        derived += block
    return derived[:key_len], derived[key_len : key_len + iv_len]


def decrypt(payload: str, secret: str) -> bytes:
    """The plaintext of a CryptoJS passphrase-format string. Raises BadContext."""
    if not isinstance(payload, str) or len(payload) > MAX_PAYLOAD_CHARS:
        raise BadContext("payload is not a CryptoJS string")
    try:
        raw = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadContext("payload is not base64") from exc
    body = raw[16:]
    if raw[:8] != HEADER or not body or len(body) % 16:
        raise BadContext("payload is not CryptoJS passphrase format")
    key, iv = evp_bytes_to_key(secret.encode(), raw[8:16])
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(body) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError as exc:
        raise BadContext("wrong secret or altered payload") from exc


def user_context(payload: str, secret: str) -> UserContext:
    """Decrypt and read GHL's user context. Raises BadContext."""
    plaintext = decrypt(payload, secret)
    try:
        data = json.loads(plaintext.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadContext("plaintext is not JSON") from exc
    if not isinstance(data, dict):
        raise BadContext("context is not an object")
    fields = {key: data.get(key, "") for key in ("userId", "userName", "activeLocation")}
    if not all(isinstance(value, str) for value in fields.values()) or not fields["userId"]:
        raise BadContext("context lacks a user id or has a field of the wrong type")
    return UserContext(
        user_id=fields["userId"],
        user_name=fields["userName"],
        active_location=fields["activeLocation"],
    )
