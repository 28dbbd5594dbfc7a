#!/usr/bin/env python3
"""Builds the JWK and signing-key API fixtures from the committed PEM keys
(test-only; run once, from this directory)."""
import base64, json
from cryptography.hazmat.primitives import serialization

KID = "d7a8f0d3c0b2e4f6a1b3c5d7e9f1a2b4"

def b64u(i):
    n = (i.bit_length() + 7) // 8
    return base64.urlsafe_b64encode(i.to_bytes(n, "big")).rstrip(b"=").decode()

def jwk(path, kid, private=True):
    key = serialization.load_pem_private_key(open(path, "rb").read(), None)
    pr = key.private_numbers()
    pu = pr.public_numbers
    j = {"use": "sig", "kty": "RSA", "kid": kid, "alg": "RS256", "n": b64u(pu.n), "e": b64u(pu.e)}
    if private:
        j.update(d=b64u(pr.d), p=b64u(pr.p), q=b64u(pr.q), dp=b64u(pr.dmp1), dq=b64u(pr.dmq1), qi=b64u(pr.iqmp))
    return j

def write(name, obj):
    with open(name, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")

private = jwk("rsa2048.pem", KID)
write("rsa2048.jwk.json", private)
write("rsa2048.pub.jwk.json", jwk("rsa2048.pem", KID, private=False))
pem_b64 = base64.b64encode(open("rsa2048-pkcs1.pem", "rb").read()).decode()
jwk_b64 = base64.b64encode(json.dumps(private).encode()).decode()
result = {"id": KID, "pem": pem_b64, "jwk": jwk_b64, "created": "2026-01-01T00:00:00.000000Z"}
write("api-key.json", result)
write("api-key-envelope.json", {"result": result, "success": True, "errors": [], "messages": []})
with open("rsa2048.pem.b64", "w") as f:
    f.write(pem_b64 + "\n")
