"""Fernet encryption for secrets at rest (GHL tokens, merchant Stripe secrets).

settings.FIELD_ENCRYPTION_KEYS lists the keys newest first: the first encrypts, any decrypts
(MultiFernet), and `rotate` re-encrypts a value under the first.
"""

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in settings.FIELD_ENCRYPTION_KEYS])


def encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode() if plain else ""


def decrypt(token: str) -> str:
    """The plain text, or "" for an empty value. Raises InvalidToken if no key reads it."""
    return _fernet().decrypt(token.encode()).decode() if token else ""


def rotate(token: str) -> str:
    """The same secret encrypted under the newest key. Raises InvalidToken if no key reads it."""
    return _fernet().rotate(token.encode()).decode() if token else ""


__all__ = ["encrypt", "decrypt", "rotate", "InvalidToken"]
