"""grievance.crypto: known answers, and refusal of anything out of place."""

from __future__ import annotations

import json

import pytest
from flask import Flask

from grievance import crypto

KEY = bytes(range(32))
NONCE = bytes(range(12))
AAD = crypto.field_aad("cases", "narrative", "row-1", "dek-1")
# Pinned once from the implementation: any change to the envelope, the
# associated data or the cipher makes this test fail.
VECTOR = "01000102030405060708090a0b3467b569a091e268f92ee5f2acc2dfbb201a58eedf8f97bf064f19db"


def ring() -> crypto.KeyRing:
    return crypto.KeyRing(
        keks={"k1": b"\x01" * 32}, active="k1", index_key=b"\x02" * 32, hash_key=b"\x03" * 32
    )


def test_aes_gcm_nist_vector() -> None:
    # NIST SP 800-38D / McGrew-Viega test case 13: 256-bit zero key, zero nonce.
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    tag = AESGCM(b"\0" * 32).encrypt(b"\0" * 12, b"", None)
    assert tag.hex() == "530f8afbc74536b9a963b4f1c4cb738b"


def test_seal_known_answer() -> None:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    envelope = crypto.seal(KEY, AAD, b"secret story", nonce=NONCE)
    assert envelope.hex() == VECTOR
    # The same bytes built by hand: version, nonce, AES-GCM with the AAD.
    by_hand = (
        b"\x01"
        + NONCE
        + AESGCM(KEY).encrypt(
            NONCE, b"secret story", b"grievance/field/v1|cases|narrative|row-1|dek-1"
        )
    )
    assert envelope == by_hand
    assert crypto.open_sealed(KEY, AAD, bytes.fromhex(VECTOR)) == b"secret story"


def test_envelope_has_no_plaintext_and_random_nonce() -> None:
    a = crypto.seal(KEY, AAD, b"secret story")
    b = crypto.seal(KEY, AAD, b"secret story")
    assert a != b
    assert b"secret" not in a


@pytest.mark.parametrize(
    "aad",
    [
        crypto.field_aad("cases", "narrative", "row-2", "dek-1"),  # another row
        crypto.field_aad("cases", "contact", "row-1", "dek-1"),  # another column
        crypto.field_aad("messages", "narrative", "row-1", "dek-1"),  # another table
        crypto.field_aad("cases", "narrative", "row-1", "dek-2"),  # another key version
    ],
)
def test_ciphertext_moved_elsewhere_fails(aad: bytes) -> None:
    envelope = crypto.seal(KEY, AAD, b"secret story")
    with pytest.raises(crypto.DecryptionError):
        crypto.open_sealed(KEY, aad, envelope)


def test_tampering_and_wrong_key_fail() -> None:
    envelope = bytearray(crypto.seal(KEY, AAD, b"secret story"))
    envelope[-1] ^= 1
    with pytest.raises(crypto.DecryptionError):
        crypto.open_sealed(KEY, AAD, bytes(envelope))
    with pytest.raises(crypto.DecryptionError):
        crypto.open_sealed(b"\x09" * 32, AAD, crypto.seal(KEY, AAD, b"x"))
    with pytest.raises(crypto.DecryptionError):
        crypto.open_sealed(KEY, AAD, b"plain text")


def test_data_key_wrap_unwrap_and_rewrap() -> None:
    r = ring()
    wrapped, _ = crypto.new_data_key(r, "dek-1")
    dek = crypto.unwrap_data_key(r, wrapped)
    assert len(dek) == 32 and dek not in wrapped.wrapped
    new_id = r.add_kek()
    moved = crypto.rewrap_data_key(r, wrapped)
    assert moved.kek_id == new_id and moved.wrapped != wrapped.wrapped
    assert crypto.unwrap_data_key(r, moved) == dek
    # A wrapped key copied to another data key id does not unwrap.
    with pytest.raises(crypto.DecryptionError):
        crypto.unwrap_data_key(r, crypto.WrappedKey("dek-2", moved.kek_id, moved.wrapped))
    r.retire_kek("k1")
    with pytest.raises(crypto.UnknownKeyError):
        crypto.unwrap_data_key(r, wrapped)


def test_wrong_kek_fails() -> None:
    wrapped, _ = crypto.new_data_key(ring(), "dek-1")
    other = crypto.KeyRing(
        keks={"k1": b"\x07" * 32}, active="k1", index_key=b"\x02" * 32, hash_key=b"\x03" * 32
    )
    with pytest.raises(crypto.DecryptionError):
        crypto.unwrap_data_key(other, wrapped)


def test_phone_normalisation_and_blind_index() -> None:
    r = ring()
    assert crypto.normalise_phone("090-1234-5678") == "+819012345678"
    assert crypto.normalise_phone("whatsapp:+84 91 234 5678") == "+84912345678"
    same = {crypto.phone_index(r, n) for n in ("090 1234 5678", "+81-90-1234-5678")}
    assert len(same) == 1
    assert crypto.phone_index(r, "09012345678") != crypto.phone_index(r, "09012345679")
    other = crypto.KeyRing(
        keks={"k1": b"\x01" * 32}, active="k1", index_key=b"\x05" * 32, hash_key=b"\x03" * 32
    )
    assert crypto.phone_index(other, "09012345678") != crypto.phone_index(r, "09012345678")
    assert "5678" not in crypto.phone_index(r, "09012345678")
    with pytest.raises(crypto.InvalidPhoneNumberError):
        crypto.normalise_phone("not a number")
    assert crypto.mask_phone("+819012345678") == "+81••••••••78"


def test_receipt_secret_hash() -> None:
    r = ring()
    stored = crypto.hash_secret(r, "ABCD2345EFGH")
    assert b"ABCD" not in stored
    assert crypto.verify_secret(r, "ABCD2345EFGH", stored)
    assert not crypto.verify_secret(r, "ABCD2345EFGJ", stored)


def test_encrypted_column_refuses_plain_values() -> None:
    column = crypto.EncryptedBytes()
    with pytest.raises(crypto.CryptoError):
        column.process_bind_param("plain", None)
    with pytest.raises(crypto.CryptoError):
        column.process_bind_param(b"plain", None)
    sealed = crypto.seal(KEY, AAD, b"x")
    assert column.process_bind_param(sealed, None) == sealed


def test_key_file_round_trip_is_private(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "keys.json"
    r = crypto.KeyRing.generate()
    r.save(path)
    assert path.stat().st_mode & 0o777 == 0o600
    loaded = crypto.KeyRing.load_file(path)
    assert loaded.keks == r.keks and loaded.active == r.active
    with pytest.raises(crypto.KeyConfigError):
        crypto.KeyRing.from_json(json.dumps({"active": "k9", "keks": {}}))


def test_other_process_picks_up_rotated_key(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "keys.json"
    crypto.KeyRing.generate().save(path)
    web = crypto.KeyRing.load_file(path)
    rotator = crypto.KeyRing.load_file(path)
    new_id = rotator.add_kek()
    rotator.save(path)
    wrapped, _ = crypto.new_data_key(rotator, "dek-9")
    # The web process has never seen the new key, and still unwraps.
    assert crypto.unwrap_data_key(web, wrapped)
    assert web.active == new_id


def test_passwords_are_argon2id() -> None:
    hasher = crypto.password_hasher(1, 1024)
    stored = crypto.hash_password(hasher, "pw")
    assert stored.startswith("$argon2id$")
    assert crypto.check_password(hasher, stored, "pw")
    assert not crypto.check_password(hasher, stored, "wrong")
    assert crypto.password_needs_rehash(crypto.password_hasher(2, 2048), stored)


def test_random_codes_use_every_letter_in_every_position() -> None:
    # 3,000 codes of 12 letters: each of the 31 letters is expected about
    # 97 times in each position. A letter missing from a position, or one
    # drawn over twice its share, means the draw is not uniform (a range
    # too small leaves the last letters at the alphabet's start).
    codes = [crypto.random_code(12) for _ in range(3000)]
    assert all(len(code) == 12 for code in codes)
    assert set("".join(codes)) <= set(crypto.RECEIPT_ALPHABET)
    for position in range(12):
        counts = {letter: 0 for letter in crypto.RECEIPT_ALPHABET}
        for code in codes:
            counts[code[position]] += 1
        assert min(counts.values()) > 40, position
        assert max(counts.values()) < 200, position
    assert len(set(codes)) == len(codes)


def test_a_new_data_key_comes_with_the_key_it_wrapped() -> None:
    keys = ring()
    wrapped, clear = crypto.new_data_key(keys, "dek-9")
    assert len(clear) == 32
    assert crypto.unwrap_data_key(keys, wrapped) == clear
    # A second key is another key.
    assert crypto.new_data_key(keys, "dek-10")[1] != clear


def test_data_key_ids_sort_in_the_order_the_keys_were_made(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """New keys go to the end of the keys' index, not anywhere in it."""
    from grievance.datakeys import DataKey, KeyAtHand

    clock = iter(range(1_700_000_000_000_000_000, 1_800_000_000_000_000_000, 1_500_000))
    monkeypatch.setattr(crypto.time, "time_ns", lambda: next(clock))
    with app.app_context():
        ids = [KeyAtHand.new().id if n % 2 else DataKey.create().id for n in range(200)]
    assert ids == sorted(ids) and len(set(ids)) == 200
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    # Within one millisecond: still distinct (80 random bits each).
    monkeypatch.setattr(crypto.time, "time_ns", lambda: 1_700_000_000_000_000_000)
    same = {crypto.new_key_id() for _ in range(1000)}
    assert len(same) == 1000 and len({i[:12] for i in same}) == 1
