"""Rate-limit bucket names (grievance.ratelimit): a keyed hash of the address
under a key of the day, so buckets of two days cannot be linked."""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import UTC, datetime

import pytest
from flask import Flask

from grievance import crypto, ratelimit


def _expected(index_key: bytes, when: float, scope: str, address: str) -> str:
    date = datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%d")
    day_key = hmac.new(index_key, f"ratelimit|{date}".encode(), hashlib.sha256).digest()
    digest = hmac.new(day_key, f"{scope}|{address}|".encode(), hashlib.sha256)
    return f"rl:{scope}:{digest.hexdigest()[:32]}"


def _key(app: Flask, address: str = "198.51.100.7") -> str:
    with app.test_request_context("/", environ_base={"REMOTE_ADDR": address}):
        return ratelimit.client_key("report")


def test_a_bucket_is_named_by_the_days_key(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    with app.app_context():
        index_key = crypto.current_ring().index_key
    now = time.time()
    assert _key(app) == _expected(index_key, now, "report", "198.51.100.7")
    # Another address, another bucket; the same address, the same bucket.
    assert _key(app, "198.51.100.8") != _key(app) == _key(app)
    # The next day: a new key, so a new name for the same address.
    tomorrow = now + 86400
    monkeypatch.setattr(time, "time", lambda: tomorrow)
    assert _key(app) == _expected(index_key, tomorrow, "report", "198.51.100.7")
    assert _key(app) != _expected(index_key, now, "report", "198.51.100.7")


def test_another_index_key_names_buckets_anew(app: Flask) -> None:
    before = _key(app)
    with app.app_context():
        ring = crypto.current_ring()
        ring.index_key = bytes(reversed(ring.index_key))
        index_key = ring.index_key
    assert _key(app) != before
    assert _key(app) == _expected(index_key, time.time(), "report", "198.51.100.7")


def test_a_count_read_twice_counts_once(app: Flask) -> None:
    with app.test_request_context("/", environ_base={"REMOTE_ADDR": "198.51.100.9"}):
        key = ratelimit.client_key("report")
        counted = ratelimit.hit_soon(key, 3600)
        assert counted() == counted() == 1
        assert ratelimit.hit(key, 3600) == 2
