"""One Redis command on the request path, without redis-py's per-command
machinery.

A report and a webhook each pay one or two small Redis commands (the rate
limit's count, the wake flag of a batch job). Through `Redis.execute_command`
each goes through the pool (its lock, a readiness poll of the socket, a
system call), the retry wrapper and the metrics hooks: about 70 us here,
against about 30 us for the same command sent and read on a connection at
hand. `QuickCommand` keeps one connection of its own per process and sends
on it directly.

It keeps what those layers are for. A connection made by another process is
never used (a worker forks its job horses): a new process makes its own. A
connection that Redis closed (a restart, an idle timeout) fails on use: it
is made anew and the command sent once more, as redis-py's default retry
does. An error reply raises as from redis-py (`NoScriptError`,
`ResponseError`); the reply was read whole, so the connection stays usable.

A command can also be sent now and its reply read later (`send`): the
request goes on with its own work while Redis answers, instead of waiting
for the reply (a round trip of about 0.1 ms here). The connection is the
pending command's until its reply is read: a command sent meanwhile goes on
another. One whose reply is never read (the request failed in between) is
dropped with it, so no later command can read a reply that is not its own.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from redis import Redis
from redis.connection import AbstractConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError


class QuickCommand:
    """Send single commands to the server of `client`, on one connection of
    this process's own (made with the client's settings: address, database,
    timeouts, credentials)."""

    def __init__(self, client: Redis) -> None:
        pool = client.connection_pool
        self._make = lambda: pool.connection_class(**pool.connection_kwargs)
        self._connection: AbstractConnection | None = None
        self._pid = 0
        # A threaded server (the embedded default) may call from two threads.
        self._lock = threading.Lock()

    def _take(self) -> AbstractConnection:
        """This process's connection, out of the slot until `_give_back`."""
        with self._lock:
            connection = self._connection
            if connection is None or self._pid != os.getpid():
                # Never the parent's socket: its replies would go to either process.
                connection = self._make()
                self._pid = os.getpid()
            self._connection = None
            return connection

    def _give_back(self, connection: AbstractConnection) -> None:
        with self._lock:
            if self._connection is None and self._pid == os.getpid():
                self._connection = connection
                return
        # The slot was filled meanwhile (another command ran while this one
        # was pending): one connection per process is enough.
        connection.disconnect()

    def send(self, *args: Any) -> Pending:
        """Send the command now; its reply is read by `Pending.result`."""
        connection = self._take()
        try:
            connection.send_command(*args)
        except (RedisConnectionError, RedisTimeoutError, OSError):
            # Closed by the server since the last command, or broken: a new
            # connection (redis-py's default retry does the same). A second
            # failure raises.
            connection.disconnect()
            connection.send_command(*args)
        return Pending(self, connection, args)

    def __call__(self, *args: Any) -> Any:
        return self.send(*args).result()

    def close(self) -> None:
        with self._lock:
            if self._connection is not None and self._pid == os.getpid():
                self._connection.disconnect()
            self._connection = None


class Pending:
    """A command sent, its reply not read yet."""

    def __init__(self, owner: QuickCommand, connection: AbstractConnection, args: tuple) -> None:
        self._owner = owner
        self._connection: AbstractConnection | None = connection
        self._args = args

    def result(self) -> Any:
        """The reply (read once; an error reply raises, as from redis-py)."""
        connection = self._connection
        if connection is None:
            raise RuntimeError("the reply was read already")
        self._connection = None
        try:
            try:
                reply = connection.read_response()
            except (RedisConnectionError, RedisTimeoutError, OSError):
                # Dropped before it answered: once more on a new connection,
                # as `QuickCommand.send` does when sending fails.
                connection.disconnect()
                connection.send_command(*self._args)
                reply = connection.read_response()
        except ResponseError:
            # An error reply, read whole: the connection is in step.
            self._owner._give_back(connection)
            raise
        except BaseException:
            # Anything else may leave a reply half read: never used again.
            connection.disconnect()
            raise
        self._owner._give_back(connection)
        return reply
