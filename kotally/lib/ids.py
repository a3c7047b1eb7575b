"""Public identifiers: a short prefix plus 20 random base32 characters (100 bits).

Model fields use the named functions below as defaults (migrations need importable names).
"""

import base64
import secrets


def public_id(prefix: str) -> str:
    return f"{prefix}_{base64.b32encode(secrets.token_bytes(15)).decode().lower()}"


def new_ws_id() -> str:
    return public_id("ws")


def new_loc_id() -> str:
    return public_id("loc")


def new_pc_id() -> str:
    return public_id("pc")


def new_ent_id() -> str:
    return public_id("ent")


def new_led_id() -> str:
    return public_id("led")


def new_pay_id() -> str:
    return public_id("pay")


def new_apt_id() -> str:
    return public_id("apt")


def new_whe_id() -> str:
    return public_id("whe")


def new_evt_id() -> str:
    return public_id("evt")
