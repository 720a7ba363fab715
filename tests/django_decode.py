"""Decode a session file with Django's algorithm, using only the standard library.

An independent check of sessionbox's files: this is django.core.signing.loads
(TimestampSigner, salt "django.contrib.sessions.SessionStore", JSON serializer)
written out from Django's source, not from sessionbox's.

usage: python3 django_decode.py SECRET SESSION_FILE [SALT]
prints the session data as JSON; exits 1 when the signature is bad.
"""

import base64
import hashlib
import hmac
import json
import sys
import zlib


def b64_decode(s: bytes) -> bytes:
    pad = b"=" * (-len(s) % 4)
    return base64.urlsafe_b64decode(s + pad)


def loads(text: str, secret: str, salt: str) -> dict:
    value, sig = text.rsplit(":", 1)
    key = hashlib.sha256((salt + "signer" + secret).encode()).digest()
    expected = base64.urlsafe_b64encode(hmac.new(key, value.encode(), hashlib.sha256).digest()).rstrip(b"=").decode()
    if not hmac.compare_digest(sig, expected):
        print("bad signature", file=sys.stderr)
        sys.exit(1)
    payload, _timestamp = value.rsplit(":", 1)
    data = payload.encode()
    compressed = data[:1] == b"."
    if compressed:
        data = data[1:]
    data = b64_decode(data)
    if compressed:
        data = zlib.decompress(data)
    return json.loads(data.decode("latin-1"))


if __name__ == "__main__":
    secret, path = sys.argv[1], sys.argv[2]
    salt = sys.argv[3] if len(sys.argv) > 3 else "django.contrib.sessions.SessionStore"
    with open(path, encoding="ascii") as f:
        print(json.dumps(loads(f.read(), secret, salt), separators=(",", ":")))
