"""Rate-limit buckets in a real Redis: counted by one script, with a window."""

from __future__ import annotations

from flask import Flask
from redis import Redis

from grievance import ratelimit
from tests.integration.conftest import REDIS_URL


def test_a_bucket_counts_in_redis_and_its_window_starts_once(app: Flask, redis_conn: Redis) -> None:
    app.config["REDIS_URL"] = REDIS_URL
    with app.test_request_context("/"):
        key = ratelimit.client_key("report")
        assert [ratelimit.hit(key, 3600) for _ in range(3)] == [1, 2, 3]
        # Counted in Redis, not in this process's memory: another process sees it.
        assert int(redis_conn.get(key) or 0) == 3
        assert ratelimit.count(key) == 3
        # The window starts with the first hit; later hits do not move it.
        redis_conn.expire(key, 100)
        ratelimit.hit(key, 3600)
        assert 0 < redis_conn.ttl(key) <= 100
        # A bucket without a window would count forever: a new one has one.
        other = ratelimit.client_key("kept-files")
        ratelimit.hit(other, 60)
        assert 0 < redis_conn.ttl(other) <= 60


def test_a_redis_that_forgot_the_script_still_counts(app: Flask, redis_conn: Redis) -> None:
    # After a Redis restart its scripts are gone: the hit loads it again.
    app.config["REDIS_URL"] = REDIS_URL
    with app.test_request_context("/"):
        key = ratelimit.client_key("report")
        assert ratelimit.hit(key, 3600) == 1
        redis_conn.script_flush()
        assert ratelimit.hit(key, 3600) == 2
        assert int(redis_conn.get(key) or 0) == 2


def test_a_count_sent_ahead_is_read_when_needed(app: Flask, redis_conn: Redis) -> None:
    app.config["REDIS_URL"] = REDIS_URL
    with app.test_request_context("/"):
        key = ratelimit.client_key("report")
        first = ratelimit.hit_soon(key, 3600)
        second = ratelimit.hit_soon(key, 3600)
        # Both counted in Redis before either reply is read.
        assert int(redis_conn.get(key) or 0) == 2
        assert (first(), second()) == (1, 2)
        assert ratelimit.hit(key, 3600) == 3
