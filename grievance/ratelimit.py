"""Rate limits that never store an address.

The bucket key is a keyed hash of the client address under a key that
changes every day (derived from the index key and the date), so yesterday's
buckets cannot be linked to today's, and nothing in Redis or memory reveals
an address. Buckets live in Redis when REDIS_URL is set (shared by every
process) and in process memory otherwise, each with a TTL.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from flask import current_app, request
from redis import Redis
from redis.exceptions import NoScriptError, RedisError

from grievance import crypto
from grievance.quick_redis import Pending, QuickCommand


class _MemoryBuckets:
    def __init__(self) -> None:
        self._data: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, window: int) -> int:
        now = time.monotonic()
        with self._lock:
            count, expires = self._data.get(key, (0, now + window))
            if expires <= now:
                count, expires = 0, now + window
            count += 1
            self._data[key] = (count, expires)
            if len(self._data) > 100_000:  # drop expired buckets now and then
                self._data = {k: v for k, v in self._data.items() if v[1] > now}
            return count

    def peek(self, key: str) -> int:
        now = time.monotonic()
        with self._lock:
            count, expires = self._data.get(key, (0, now))
            return count if expires > now else 0

    def clear(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)


_memory = _MemoryBuckets()

# Count and, for a new bucket, start its window: one command and one reply
# where MULTI, INCR, EXPIRE and EXEC were four (a report pays it on every
# request). Redis runs a script whole, so no other client sees the count
# without its expiry.
_HIT_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1], 'NX')
return count
"""
_HIT_SHA = hashlib.sha1(_HIT_SCRIPT.encode()).hexdigest()  # noqa: S324 - Redis names scripts so


def _redis() -> Redis | None:
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    conn = current_app.extensions.get("grievance.ratelimit.redis")
    if conn is None:
        conn = Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        current_app.extensions["grievance.ratelimit.redis"] = conn
        # Every report and sign-in pays a hit: sent on a connection at hand.
        current_app.extensions["grievance.ratelimit.hit"] = QuickCommand(conn)
    return conn


# The last day key made: (UTC day number, index key, day key). Every report
# and sign-in names its bucket with it; made once a day, not once a request.
_last_day_key: tuple[int, bytes, bytes] | None = None


def _day_key() -> bytes:
    global _last_day_key
    day = int(time.time() // 86400)
    index_key = crypto.current_ring().index_key
    last = _last_day_key
    if last is not None and last[0] == day and last[1] == index_key:
        return last[2]
    date = datetime.fromtimestamp(day * 86400, UTC).strftime("%Y-%m-%d")
    key = hmac.new(index_key, f"ratelimit|{date}".encode(), hashlib.sha256).digest()
    _last_day_key = (day, index_key, key)
    return key


def client_key(scope: str, extra: str = "") -> str:
    """The bucket name for this client (and `extra`, e.g. a reference)."""
    address = request.remote_addr or "unknown"
    digest = hmac.new(_day_key(), f"{scope}|{address}|{extra}".encode(), hashlib.sha256)
    return f"rl:{scope}:{digest.hexdigest()[:32]}"


def hit(key: str, window: int) -> int:
    """Count one event in `key`'s window and return the count so far."""
    return hit_soon(key, window)()


def hit_soon(key: str, window: int) -> Callable[[], int]:
    """Count one event in `key`'s window; the count so far comes from the
    function returned. With Redis the count is sent now and its reply read
    when the function is first called: the caller works meanwhile, instead
    of waiting for Redis. Later calls give the same count."""
    quick: QuickCommand | None = None
    pending: Pending | None = None
    if _redis() is not None:
        quick = current_app.extensions["grievance.ratelimit.hit"]
        try:
            # By the script's digest: Redis keeps the script once sent.
            pending = quick.send("EVALSHA", _HIT_SHA, 1, key, window)
        except RedisError:
            pending = None
    read: list[int] = []

    def count_so_far() -> int:
        if not read:
            read.append(_read_count(quick, pending, key, window))
        return read[0]

    return count_so_far


def _read_count(quick: QuickCommand | None, pending: Pending | None, key: str, window: int) -> int:
    if quick is not None and pending is not None:
        try:
            try:
                return int(pending.result())
            except NoScriptError:
                # Not there yet, or gone with a Redis restart: send it whole.
                return int(quick("EVAL", _HIT_SCRIPT, 1, key, window))
        except RedisError:
            pass
    # Redis unreachable: this process's memory rather than fail open.
    return _memory.hit(key, window)


def count(key: str) -> int:
    conn = _redis()
    if conn is not None:
        try:
            value = conn.get(key)
            return int(value or 0)
        except RedisError:
            pass
    return _memory.peek(key)


def clear(key: str) -> None:
    conn = _redis()
    if conn is not None:
        try:
            conn.delete(key)
        except RedisError:
            pass
    _memory.clear(key)
