"""All cryptography of the system, and the only module that holds key material.

Guarantees
----------
* Field encryption: AES-256-GCM under a random 256-bit data key (DEK). The
  associated data binds every ciphertext to its table, column, row and data
  key id, so a ciphertext copied to another row, column or case fails to
  decrypt instead of showing the wrong person's story.
* Data keys are stored only wrapped (AES-256-GCM) by a key-encryption key
  (KEK). KEKs carry ids, live in a keys file or the environment, never in the
  database. Rotation re-wraps data keys one batch at a time; old KEKs stay
  readable until retired, so rotation needs no downtime.
* Phone numbers are normalised to E.164 and found by a keyed HMAC blind
  index, so the database can answer "is this sender known?" without holding
  the number in the clear.
* Receipt secrets are stored as keyed hashes and compared in constant time.

Everything else in the code base calls the use-case functions here and
catches the exception types defined here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import phonenumbers
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import LargeBinary
from sqlalchemy.types import TypeDecorator

# Envelope of a sealed field: version byte, 12-byte nonce, ciphertext + tag.
ENVELOPE_VERSION = b"\x01"
NONCE_SIZE = 12
KEY_SIZE = 32


class CryptoError(Exception):
    """Base class of every error raised by this module."""


class KeyConfigError(CryptoError):
    """The key file or key variables are missing or malformed."""


class UnknownKeyError(CryptoError):
    """A wrapped data key names a key-encryption key that is not loaded."""


class DecryptionError(CryptoError):
    """A ciphertext was tampered with, moved, or sealed under another key."""


class InvalidPhoneNumberError(CryptoError):
    """A phone number could not be parsed into E.164."""


def _b64d(value: str) -> bytes:
    return base64.urlsafe_b64decode(value.encode("ascii"))


def _b64e(value: bytes) -> str:
    return base64.urlsafe_b64encode(value).decode("ascii")


@dataclass
class KeyRing:
    """The loaded key-encryption keys and the keys for blind indexes and hashes.

    `active` names the KEK used to wrap new data keys. `source` is the keys
    file, if any, so that a process can pick up a key added by `rotate-keys`
    in another process without restarting.
    """

    keks: dict[str, bytes]
    active: str
    index_key: bytes
    hash_key: bytes
    source: Path | None = None
    _mtime: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if self.active not in self.keks:
            raise KeyConfigError(f"active key id {self.active!r} is not among the keys")
        for kid, key in self.keks.items():
            if len(key) != KEY_SIZE:
                raise KeyConfigError(f"key {kid!r} must be {KEY_SIZE} bytes")
        if len(self.index_key) < KEY_SIZE or len(self.hash_key) < KEY_SIZE:
            raise KeyConfigError("index and hash keys must be at least 32 bytes")

    # -- loading and saving -------------------------------------------------

    @classmethod
    def from_document(cls, doc: dict[str, Any], source: Path | None = None) -> KeyRing:
        try:
            return cls(
                keks={kid: _b64d(v) for kid, v in doc["keks"].items()},
                active=doc["active"],
                index_key=_b64d(doc["index_key"]),
                hash_key=_b64d(doc["hash_key"]),
                source=source,
            )
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            raise KeyConfigError(f"malformed key document: missing or bad {exc}") from None

    @classmethod
    def from_json(cls, text: str) -> KeyRing:
        try:
            doc = json.loads(text)
        except json.JSONDecodeError:
            raise KeyConfigError("GRIEVANCE_KEYS is not valid JSON") from None
        return cls.from_document(doc)

    @classmethod
    def load_file(cls, path: str | Path) -> KeyRing:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
            mtime = path.stat().st_mtime
        except FileNotFoundError:
            raise KeyConfigError(f"keys file not found: {path}") from None
        try:
            doc = json.loads(text)
        except json.JSONDecodeError:
            raise KeyConfigError(f"keys file is not valid JSON: {path}") from None
        ring = cls.from_document(doc, source=path)
        ring._mtime = mtime
        return ring

    @classmethod
    def generate(cls, kek_id: str = "k1") -> KeyRing:
        return cls(
            keks={kek_id: AESGCM.generate_key(bit_length=256)},
            active=kek_id,
            index_key=secrets.token_bytes(KEY_SIZE),
            hash_key=secrets.token_bytes(KEY_SIZE),
        )

    def to_document(self) -> dict[str, Any]:
        return {
            "active": self.active,
            "keks": {kid: _b64e(k) for kid, k in self.keks.items()},
            "index_key": _b64e(self.index_key),
            "hash_key": _b64e(self.hash_key),
        }

    def save(self, path: str | Path) -> None:
        """Write the keys to `path` with mode 0600, atomically."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(self.to_document(), fh, indent=2)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
        self.source = path
        self._mtime = path.stat().st_mtime

    def reload_if_changed(self) -> bool:
        """Pick up keys added to the file by another process (rotation)."""
        if self.source is None:
            return False
        with self._lock:
            try:
                mtime = self.source.stat().st_mtime
            except FileNotFoundError:
                return False
            if mtime == self._mtime:
                return False
            fresh = KeyRing.load_file(self.source)
            self.keks, self.active = fresh.keks, fresh.active
            self._mtime = fresh._mtime
            return True

    # -- key-encryption keys --------------------------------------------------

    def add_kek(self) -> str:
        """Add a new KEK, make it active, and return its id."""
        n = 1 + max((int(k[1:]) for k in self.keks if k[1:].isdigit()), default=0)
        kid = f"k{n}"
        self.keks[kid] = AESGCM.generate_key(bit_length=256)
        self.active = kid
        return kid

    def retire_kek(self, kek_id: str) -> None:
        if kek_id == self.active:
            raise KeyConfigError("the active key cannot be retired")
        if kek_id not in self.keks:
            raise UnknownKeyError(f"no key {kek_id!r}")
        del self.keks[kek_id]

    def _kek(self, kek_id: str) -> bytes:
        key = self.keks.get(kek_id)
        if key is None and self.reload_if_changed():
            key = self.keks.get(kek_id)
        if key is None:
            raise UnknownKeyError(f"key-encryption key {kek_id!r} is not loaded")
        return key


# -- data keys ---------------------------------------------------------------


@dataclass(frozen=True)
class WrappedKey:
    """A data key as the database stores it: only ever wrapped."""

    dek_id: str
    kek_id: str
    wrapped: bytes


def _wrap_aad(dek_id: str, kek_id: str) -> bytes:
    return f"grievance/dek/v1|{dek_id}|{kek_id}".encode()


def new_data_key(ring: KeyRing, dek_id: str) -> tuple[WrappedKey, bytes]:
    """A random data key wrapped under the active KEK, and the key itself:
    whoever seals right away with it need not unwrap it first."""
    # Another process may have rotated: wrap under the newest active key.
    ring.reload_if_changed()
    dek = AESGCM.generate_key(bit_length=256)
    return wrap_data_key(ring, dek_id, dek), dek


def wrap_data_key(ring: KeyRing, dek_id: str, dek: bytes, kek_id: str | None = None) -> WrappedKey:
    kek_id = kek_id or ring.active
    nonce = os.urandom(NONCE_SIZE)
    ct = AESGCM(ring._kek(kek_id)).encrypt(nonce, dek, _wrap_aad(dek_id, kek_id))
    return WrappedKey(dek_id=dek_id, kek_id=kek_id, wrapped=nonce + ct)


def unwrap_data_key(ring: KeyRing, key: WrappedKey) -> bytes:
    kek = ring._kek(key.kek_id)
    nonce, ct = key.wrapped[:NONCE_SIZE], key.wrapped[NONCE_SIZE:]
    try:
        return AESGCM(kek).decrypt(nonce, ct, _wrap_aad(key.dek_id, key.kek_id))
    except InvalidTag:
        raise DecryptionError("data key failed to unwrap") from None


def rewrap_data_key(ring: KeyRing, key: WrappedKey) -> WrappedKey:
    """The same data key wrapped under the active KEK (for rotation)."""
    if key.kek_id == ring.active:
        return key
    return wrap_data_key(ring, key.dek_id, unwrap_data_key(ring, key))


# -- field encryption ----------------------------------------------------------


def field_aad(table: str, column: str, row: str, dek_id: str) -> bytes:
    """Associated data binding a ciphertext to exactly one place."""
    return f"grievance/field/v1|{table}|{column}|{row}|{dek_id}".encode()


def seal(dek: bytes, aad: bytes, plaintext: bytes, nonce: bytes | None = None) -> bytes:
    """Encrypt `plaintext`; `nonce` is only ever passed by test vectors."""
    nonce = nonce or os.urandom(NONCE_SIZE)
    return ENVELOPE_VERSION + nonce + AESGCM(dek).encrypt(nonce, plaintext, aad)


def open_sealed(dek: bytes, aad: bytes, envelope: bytes) -> bytes:
    if len(envelope) < 1 + NONCE_SIZE + 16 or envelope[:1] != ENVELOPE_VERSION:
        raise DecryptionError("not a sealed value")
    nonce, ct = envelope[1 : 1 + NONCE_SIZE], envelope[1 + NONCE_SIZE :]
    try:
        return AESGCM(dek).decrypt(nonce, ct, aad)
    except InvalidTag:
        raise DecryptionError("ciphertext does not belong here or was altered") from None


class EncryptedBytes(TypeDecorator):
    """A binary column that only accepts sealed envelopes.

    A guard rail: writing a plain `str` (or bytes without the envelope
    header) to an encrypted column raises instead of storing the clear text.
    """

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> bytes | None:
        if value is None:
            return None
        if not isinstance(value, bytes | bytearray | memoryview):
            raise CryptoError("encrypted columns take sealed bytes only")
        value = bytes(value)
        if value[:1] != ENVELOPE_VERSION:
            raise CryptoError("refusing to store an unsealed value")
        return value

    def process_result_value(self, value: Any, dialect: Any) -> bytes | None:
        return None if value is None else bytes(value)


class KeyedRow(Protocol):
    """What a model must offer for its fields to be encrypted."""

    __tablename__: str
    uid: str

    def data_key_material(self) -> tuple[str, bytes]:
        """The (dek_id, data key) this row's fields are sealed under."""
        ...


class EncryptedField:
    """A model attribute that reads and writes clear text over a sealed column.

    ``narrative = EncryptedField("narrative_ct")`` keeps the model readable:
    code says ``case.narrative = text`` and the column holds only the
    envelope, bound to this table, field name and row.
    """

    def __init__(self, column: str, *, binary: bool = False) -> None:
        self.column = column
        self.binary = binary
        self.name = column

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: KeyedRow | None, objtype: type | None = None) -> Any:
        if obj is None:
            return self
        envelope = getattr(obj, self.column)
        if envelope is None:
            return None
        dek_id, dek = obj.data_key_material()
        plain = open_sealed(dek, field_aad(obj.__tablename__, self.name, obj.uid, dek_id), envelope)
        return plain if self.binary else plain.decode("utf-8")

    def __set__(self, obj: KeyedRow, value: str | bytes | None) -> None:
        if value is None:
            setattr(obj, self.column, None)
            return
        dek_id, dek = obj.data_key_material()
        setattr(obj, self.column, self.seal_value(obj.__tablename__, obj.uid, dek_id, dek, value))

    def seal_value(
        self, table: str, uid: str, dek_id: str, dek: bytes, value: str | bytes
    ) -> bytes:
        """The envelope this field holds for `value` in row `uid` of `table`
        under data key `dek_id`: what setting the field on such a row stores."""
        data = value if isinstance(value, bytes) else value.encode("utf-8")
        return seal(dek, field_aad(table, self.name, uid, dek_id), data)


# -- blind index, receipt secrets, identifiers ---------------------------------


def normalise_phone(raw: str, default_region: str = "JP") -> str:
    """E.164 form of a phone number ("whatsapp:" prefixes are dropped)."""
    text = raw.strip()
    if text.lower().startswith("whatsapp:"):
        text = text[len("whatsapp:") :]
    try:
        parsed = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        raise InvalidPhoneNumberError("unparseable phone number") from None
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidPhoneNumberError("impossible phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def blind_index(ring: KeyRing, value: str, purpose: str = "phone") -> str:
    """Keyed HMAC-SHA256 of a normalised value; equal inputs give equal indexes."""
    mac = hmac.new(ring.index_key, f"{purpose}|{value}".encode(), hashlib.sha256)
    return mac.hexdigest()


def phone_index(ring: KeyRing, raw: str) -> str:
    return blind_index(ring, normalise_phone(raw), "phone")


def mask_phone(e164: str) -> str:
    """What staff see of a number: the country code and the last two digits."""
    if len(e164) <= 5:
        return "•••"
    return e164[:3] + "•" * (len(e164) - 5) + e164[-2:]


def hash_secret(ring: KeyRing, secret: str) -> bytes:
    return hmac.new(ring.hash_key, f"receipt|{secret}".encode(), hashlib.sha256).digest()


def verify_secret(ring: KeyRing, secret: str, stored: bytes) -> bool:
    return hmac.compare_digest(hash_secret(ring, secret), bytes(stored))


def keyed_digest(ring: KeyRing, purpose: str, value: str) -> str:
    """A keyed hash for rate-limit buckets and normalised-name keys."""
    return hmac.new(ring.index_key, f"{purpose}|{value}".encode(), hashlib.sha256).hexdigest()


# Receipt alphabet without look-alikes (0/O, 1/I/L), easy to read out on a phone.
RECEIPT_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def random_code(length: int) -> str:
    """`length` letters of the receipt alphabet, each uniformly random.

    One draw of a number below 31**length, written in base 31: the same
    distribution as a choice per letter, with one read of the system's
    random source instead of one per letter.
    """
    number = secrets.randbelow(len(RECEIPT_ALPHABET) ** length)
    letters = []
    for _ in range(length):
        number, digit = divmod(number, len(RECEIPT_ALPHABET))
        letters.append(RECEIPT_ALPHABET[digit])
    return "".join(letters)


def new_uid() -> str:
    return secrets.token_hex(16)


def new_key_id() -> str:
    """A data key's id: 32 hex digits like `new_uid`'s, the first twelve the
    time in milliseconds, the other twenty (80 bits) random.

    Every report and first message makes a data key, and its id goes into
    the keys' primary key index, a million entries and more. A random id
    lands on any of its pages, and after each checkpoint PostgreSQL writes
    a whole page to its log the first time the page changes: a held report
    wrote 19.5-19.9 KB of log right after a checkpoint, against 1.5 KB a
    while later, most of it that index's page. New ids in time order go to
    the index's last page instead: 9.2 KB right after a checkpoint (the
    rest, the held reports' own random indexes). The id reveals no more
    than the key's `created_at`, and it never leaves the database.
    """
    return f"{time.time_ns() // 1_000_000:012x}{secrets.token_hex(10)}"


def new_password(length: int = 20) -> str:
    return secrets.token_urlsafe(length)


# -- staff passwords ------------------------------------------------------------


def password_hasher(time_cost: int | None = None, memory_cost: int | None = None) -> PasswordHasher:
    """argon2id with the library's current defaults unless told otherwise."""
    kwargs: dict[str, int] = {}
    if time_cost:
        kwargs["time_cost"] = time_cost
    if memory_cost:
        kwargs["memory_cost"] = memory_cost
    return PasswordHasher(type=Type.ID, **kwargs)


def hash_password(hasher: PasswordHasher, password: str) -> str:
    return hasher.hash(password)


def check_password(hasher: PasswordHasher, stored: str, password: str) -> bool:
    try:
        return hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def password_needs_rehash(hasher: PasswordHasher, stored: str) -> bool:
    return hasher.check_needs_rehash(stored)


# -- the application's key ring ---------------------------------------------------


def current_ring() -> KeyRing:
    """The key ring loaded by create_app for the running application."""
    from flask import current_app

    return current_app.extensions["grievance.keyring"]
