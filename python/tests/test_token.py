import base64
import json
import subprocess
from pathlib import Path

import pytest

import accessrules
from conftest import REPO

KEYS = REPO / "tests" / "data" / "keys"
NOW = 1_767_225_600


def test_sign_verify_decode_round_trip(docs_example):
    token = accessrules.sign(docs_example, KEYS / "api-key.json", "ea95132c15732412d22c1476fa83f27a", now=NOW)
    decoded = accessrules.decode(token)
    assert decoded["header"]["alg"] == "RS256"
    assert decoded["payload"]["sub"] == "ea95132c15732412d22c1476fa83f27a"
    assert decoded["payload"]["exp"] == NOW + 3600
    assert decoded["payload"]["accessRules"] == json.loads(docs_example)["accessRules"]
    v = accessrules.verify(token, KEYS / "api-key.json", now=NOW + 60, video="ea95132c15732412d22c1476fa83f27a")
    assert (v.video, v.expires) == ("ea95132c15732412d22c1476fa83f27a", NOW + 3600)
    assert json.loads(v.rules) == json.loads(docs_example)["accessRules"]


def test_openssl_verifies_a_python_signed_token(tmp_path, docs_example):
    token = accessrules.sign(docs_example, (KEYS / "rsa2048.pem").read_bytes(), "v1",
                             key_id="k1", now=NOW)
    head, payload, sig = token.split(".")
    (tmp_path / "in").write_bytes(f"{head}.{payload}".encode())
    (tmp_path / "sig").write_bytes(base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4)))
    r = subprocess.run(["openssl", "dgst", "-sha256", "-verify", str(KEYS / "rsa2048.pub.pem"),
                        "-signature", str(tmp_path / "sig"), str(tmp_path / "in")],
                       capture_output=True, text=True)
    assert r.returncode == 0 and "Verified OK" in r.stdout, r.stdout + r.stderr


def test_refusals(docs_example):
    with pytest.raises(accessrules.InvalidRules):
        accessrules.sign((REPO / "examples" / "mistakes.json").read_text(), KEYS / "api-key.json", "v", now=NOW)
    with pytest.raises(accessrules.InvalidKey) as e:
        accessrules.sign(docs_example, KEYS / "rsa1024.pem", "v", key_id="k", now=NOW)
    assert "1024" in str(e.value) and "PRIVATE" not in str(e.value)
    with pytest.raises(ValueError, match="24 h"):
        accessrules.sign(docs_example, KEYS / "api-key.json", "v", ttl=2 * 86400, now=NOW)
    token = accessrules.sign(docs_example, KEYS / "api-key.json", "v", now=NOW)
    with pytest.raises(accessrules.InvalidToken) as e:
        accessrules.verify(token, KEYS / "api-key.json", now=NOW + 7200)
    assert any("expired" in f for f in e.value.failures)
    with pytest.raises(accessrules.InvalidToken) as e:
        accessrules.verify(token, KEYS / "other2048.pub.pem", key_id=accessrules.decode(token)["header"]["kid"], now=NOW)
    assert any("signature" in f for f in e.value.failures)
    with pytest.raises(accessrules.InvalidToken, match="malformed"):
        accessrules.decode("not.a.token")
