"""Fernet encryption for secrets at rest (GHL tokens, merchant Stripe secrets)."""

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


def _fernet() -> Fernet:
    return Fernet(settings.FIELD_ENCRYPTION_KEY.encode())


def encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode() if plain else ""


def decrypt(token: str) -> str:
    """The plain text, or "" for an empty value. Raises InvalidToken if the key changed."""
    return _fernet().decrypt(token.encode()).decode() if token else ""


__all__ = ["encrypt", "decrypt", "InvalidToken"]
