"""embed.sso: GHL's CryptoJS passphrase format, against vectors made by crypto-js 4.2.0."""

import base64
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from embed import sso
from tests.embed.cryptojs import encrypt

VECTORS = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "ghl" / "sso_vectors.json").read_text("utf-8")
)
LOCATION_VECTOR = VECTORS[0]


@pytest.mark.parametrize("vector", VECTORS, ids=[v["note"] for v in VECTORS])
def test_decrypts_what_crypto_js_encrypted(vector):
    assert sso.decrypt(vector["ciphertext"], vector["secret"]).decode() == vector["plaintext"]


def test_key_derivation_is_openssl_evp_bytes_to_key_with_md5():
    # What `openssl enc -aes-256-cbc -md md5 -P -S 0102030405060708 -pass pass:secret`
    # (OpenSSL 3.0.19) prints.
    key, iv = sso.evp_bytes_to_key(b"secret", bytes.fromhex("0102030405060708"))
    assert key.hex().upper() == "C9E5A1BD216DBE1317E230CEF48F38EE7F0E17AD64022144BCCEC4A1AA2879AB"
    assert iv.hex().upper() == "E24B32BBBC4EF02ECBCB6576523AD893"


def test_reads_the_user_context_of_a_location_user():
    context = sso.user_context(LOCATION_VECTOR["ciphertext"], LOCATION_VECTOR["secret"])
    assert context == sso.UserContext(
        user_id="5f8d0d55b54764421b7156c1",
        user_name="Jane Doe",
        active_location="ve9EPM428h8vShlRW1KT",
    )


def test_an_agency_context_has_no_active_location():
    context = sso.user_context(VECTORS[1]["ciphertext"], VECTORS[1]["secret"])
    assert context.active_location == ""


def test_wrong_secret_is_refused():
    with pytest.raises(sso.BadContext):
        sso.user_context(LOCATION_VECTOR["ciphertext"], "not-the-shared-secret")


def _flip(payload: str, index: int) -> str:
    raw = bytearray(base64.b64decode(payload))
    raw[index] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


@pytest.mark.parametrize("index", [8, 20, -17, -1], ids=["salt", "first", "second-last", "last"])
def test_tampered_ciphertext_is_refused(index):
    with pytest.raises(sso.BadContext):
        sso.user_context(_flip(LOCATION_VECTOR["ciphertext"], index), LOCATION_VECTOR["secret"])


@pytest.mark.parametrize(
    "payload",
    [
        "",
        "not base64!",
        base64.b64encode(b"Salted__12345678").decode(),
        base64.b64encode(b"NotSalt_" + b"x" * 24).decode(),
        "A" * 9000,
    ],
    ids=["empty", "not-base64", "no-ciphertext", "no-header", "too-long"],
)
def test_malformed_payloads_are_refused(payload):
    with pytest.raises(sso.BadContext):
        sso.decrypt(payload, "secret")


@pytest.mark.parametrize(
    "plaintext",
    ['["a list"]', '{"userName": "no user id"}', '{"userId": 42}', "not json"],
)
def test_a_context_without_a_usable_user_is_refused(plaintext):
    with pytest.raises(sso.BadContext):
        sso.user_context(encrypt(plaintext, "secret"), "secret")


def _node_with_crypto_js() -> str:
    """Why the live crypto-js check cannot run here, or "" when it can."""
    if shutil.which("node") is None:
        return "node is not installed"
    probe = subprocess.run(["node", "-e", "require('crypto-js')"], capture_output=True)
    if probe.returncode:
        return "node cannot load crypto-js (npm install crypto-js@4.2.0; set NODE_PATH)"
    return ""


def test_round_trips_with_a_live_crypto_js():
    """Both directions against crypto-js itself, when Node can load it; the recorded vectors
    above cover the same ground everywhere else."""
    if reason := _node_with_crypto_js():
        print(f"SKIP: live crypto-js check: {reason}")
        pytest.skip(reason)
    script = """
      const CryptoJS = require('crypto-js');
      const {secret, plaintext, ours} = JSON.parse(require('fs').readFileSync(0, 'utf8'));
      console.log(JSON.stringify({
        theirs: CryptoJS.AES.encrypt(plaintext, secret).toString(),
        back: CryptoJS.AES.decrypt(ours, secret).toString(CryptoJS.enc.Utf8),
      }));
    """
    secret, plaintext = "pässwörd-Ω-秘密", '{"userId":"u1","userName":"Zoë 🎉"}'
    given = json.dumps(
        {"secret": secret, "plaintext": plaintext, "ours": encrypt(plaintext, secret)}
    )
    out = subprocess.run(
        ["node", "-e", script], input=given, capture_output=True, text=True, check=True
    )
    result = json.loads(out.stdout)
    assert sso.decrypt(result["theirs"], secret).decode() == plaintext
    assert result["back"] == plaintext
