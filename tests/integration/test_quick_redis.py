"""Commands sent on a connection at hand (grievance.quick_redis), against a
real Redis: the client's settings kept, error replies raised, a connection
the server closed made anew, and never a parent process's socket."""

from __future__ import annotations

import os

import pytest
from redis import Redis
from redis.exceptions import ResponseError

from grievance.quick_redis import QuickCommand
from tests.integration.conftest import REDIS_URL


def test_commands_reach_the_clients_database(redis_conn: Redis) -> None:
    quick = QuickCommand(Redis.from_url(REDIS_URL))
    assert quick("SET", "quick:a", 1, "NX", "EX", 60) == b"OK"
    # NX: the key stands, so nothing is set and the reply is empty.
    assert quick("SET", "quick:a", 2, "NX", "EX", 60) is None
    # The database of the URL (not 0): another client of it sees the key.
    assert redis_conn.get("quick:a") == b"1"
    assert 0 < redis_conn.ttl("quick:a") <= 60
    quick.close()


def test_an_error_reply_raises_and_the_connection_stays_usable(redis_conn: Redis) -> None:
    quick = QuickCommand(Redis.from_url(REDIS_URL))
    redis_conn.set("quick:text", "not a number")
    with pytest.raises(ResponseError):
        quick("INCR", "quick:text")
    # The error was read whole: the next reply is this command's own.
    assert quick("INCR", "quick:n") == 1
    assert quick("INCR", "quick:n") == 2
    quick.close()


def test_a_connection_the_server_closed_is_made_anew(redis_conn: Redis) -> None:
    quick = QuickCommand(Redis.from_url(REDIS_URL))
    first = quick("CLIENT", "ID")
    # As after a Redis restart or an idle timeout: the server drops it.
    assert redis_conn.client_kill_filter(_id=first) == 1
    # Sent once more on a new connection, and counted once.
    assert quick("INCR", "quick:n") == 1
    assert quick("CLIENT", "ID") != first
    assert redis_conn.get("quick:n") == b"1"
    quick.close()


def test_a_forked_process_makes_its_own_connection(redis_conn: Redis) -> None:
    quick = QuickCommand(Redis.from_url(REDIS_URL))
    parent_id = quick("CLIENT", "ID")
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        status = 1
        try:
            # Its own connection: the parent's socket is left alone.
            own = quick("CLIENT", "ID")
            redis_conn.set("quick:child", own)
            status = 0 if own != parent_id else 2
        finally:
            os._exit(status)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert int(redis_conn.get("quick:child") or 0) not in (0, parent_id)
    # The parent's connection is the one it had, still in step.
    assert quick("CLIENT", "ID") == parent_id
    assert quick("INCR", "quick:n") == 1
    quick.close()


def test_a_command_sent_ahead_keeps_its_reply_while_others_run(redis_conn: Redis) -> None:
    quick = QuickCommand(Redis.from_url(REDIS_URL))
    first = quick.send("INCR", "quick:ahead")
    # Sent while the first reply is unread: on another connection, its own reply.
    assert quick("INCR", "quick:other") == 1
    second = quick.send("INCR", "quick:ahead")
    assert second.result() == 2
    assert first.result() == 1
    with pytest.raises(RuntimeError):
        first.result()  # read once
    quick.close()


def test_a_reply_never_read_is_never_read_by_another_command(redis_conn: Redis) -> None:
    quick = QuickCommand(Redis.from_url(REDIS_URL))
    quick.send("SET", "quick:left", "stale")  # the request failed before reading it
    # The next command has its own reply, not the one left unread.
    assert quick("INCR", "quick:n") == 1
    assert quick("GET", "quick:left") == b"stale"
    quick.close()
