"""The README's receiver snippet verifies what Kotally sends (and refuses what it should)."""

import json
import re
import time
from pathlib import Path

import pytest

from outbound import signing

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture
def verify():
    section = README.read_text().split("## Automate with Kotally", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    code = code.replace('HTTPServer(("", 8001), Receiver).serve_forever()', "")
    namespace = {}
    exec(compile(code, "README.md", "exec"), namespace)
    namespace["SECRET"] = "whsec_readme"
    return namespace["verify"]


def test_the_snippet_accepts_a_kotally_signature(verify):
    body = json.dumps({"id": "evt_1", "type": "credits.low", "data": {}}).encode()
    header = signing.signature("whsec_readme", int(time.time()), body)
    assert verify(body, header)["id"] == "evt_1"


@pytest.mark.parametrize("header", ["", "t=1,v1=00", "garbage"])
def test_the_snippet_refuses_bad_or_missing_signatures(verify, header):
    with pytest.raises(ValueError):
        verify(b"{}", header)


def test_the_snippet_refuses_an_old_delivery(verify):
    header = signing.signature("whsec_readme", int(time.time()) - 3600, b"{}")
    with pytest.raises(ValueError, match="too old"):
        verify(b"{}", header)
