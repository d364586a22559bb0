"""Signed values as itsdangerous makes them, checked with OpenSSL's HMAC and
each signing key derived once.

Flask's session cookie and Flask-WTF's CSRF token are signed by
itsdangerous with HMAC-SHA1, its hash named by a Python function that
calls `hashlib.sha1`. Python's `hmac` module runs HMAC in C only for a hash
it knows (a name, or OpenSSL's own constructor); for any other function it
runs HMAC in Python, padding the key byte by byte and hashing twice. And
the key the signature is made with, derived from the secret key and the
salt, is derived again for every value signed or checked: with the
session's derivation, one more HMAC in Python. A report form's POST checks
two signatures (its session, its token): 4 such HMACs.

`KeptKeySigner` makes the same signatures (the same bytes: HMAC-SHA1 over
the same key and value) with OpenSSL's HMAC, and keeps each derived key.
`csrf_serializer` is Flask-WTF's serializer for its token, made once per
secret key instead of once per token made or checked.
"""

from __future__ import annotations

import hashlib
import hmac
import threading

from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from itsdangerous.encoding import want_bytes
from itsdangerous.signer import HMACAlgorithm

# Secret keys in use at once: the current one and its fallbacks; more only
# while tests change them.
_KEPT_AT_MOST = 32
# Flask-WTF's salt for its CSRF token (flask_wtf.csrf).
CSRF_SALT = "wtf-csrf-token"


class _OpenSSLHMAC(HMACAlgorithm):
    """HMAC with a hash that Python's `hmac` runs in C: one call, no object."""

    def get_signature(self, key: bytes, value: bytes) -> bytes:
        return hmac.digest(key, value, self.digest_method)


_derived: dict[tuple[bytes, bytes, str], bytes] = {}
_lock = threading.Lock()


class KeptKeySigner(TimestampSigner):
    """itsdangerous' timestamp signer with SHA-1 in C and its keys kept.

    Only for SHA-1, the hash Flask and Flask-WTF sign with: the kept keys
    are told apart by secret, salt and derivation.
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs["digest_method"] = hashlib.sha1
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.algorithm = _OpenSSLHMAC(hashlib.sha1)

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        secret = self.secret_keys[-1] if secret_key is None else want_bytes(secret_key)
        kept = (secret, self.salt, self.key_derivation)
        key = _derived.get(kept)
        if key is None:
            key = super().derive_key(secret)
            with _lock:
                if len(_derived) >= _KEPT_AT_MOST:
                    _derived.clear()
                _derived[kept] = key
        return key


_csrf_serializers: dict[str | bytes, URLSafeTimedSerializer] = {}


def csrf_serializer(secret_key: str | bytes) -> URLSafeTimedSerializer:
    """The serializer Flask-WTF signs and checks its CSRF token with
    (`flask_wtf.csrf.generate_csrf`, `validate_csrf`), made once per key."""
    serializer = _csrf_serializers.get(secret_key)
    if serializer is None:
        serializer = URLSafeTimedSerializer(secret_key, salt=CSRF_SALT, signer=KeptKeySigner)
        with _lock:
            if len(_csrf_serializers) >= _KEPT_AT_MOST:
                _csrf_serializers.clear()
            _csrf_serializers[secret_key] = serializer
    return serializer
