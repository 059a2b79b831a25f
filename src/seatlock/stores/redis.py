"""The Redis store (``redis://host:port/db``): one truth for many processes and hosts.

Every operation is one Lua script (``seatlock/stores/lua/*.lua``), run with ``EVALSHA``
in one round trip: it reads the seats, checks every one, then writes all of them with one
timestamp, or nothing (Lua cannot roll back, so no write comes before the last check).
Time is the server's ``TIME``, read inside the script, never this host's clock; an
event's time never goes back (a script uses the later of ``TIME`` and the time of the
event's last write), so a clock step back or a failover to a server whose clock is
behind cannot stretch a lock or undo an expiry.

Key layout (version 1), per event ``E``; ``{T}`` is a Redis Cluster hash tag, ``T`` is
``E`` with ``%``, ``{`` and ``}`` percent-escaped, so all of an event's keys share one
hash slot:

* ``seatlock:{T}:seats`` hash: seat → ``F`` (free), ``B<user>`` (booked) or
  ``L<deadline>:<token>:<user>`` (locked; expired once the deadline has passed).
  Seat and user ids are stored tagged with their type (``i:1``, ``s:1``:
  :func:`~seatlock.stores.codec.encode_id`); deadlines are server seconds. The same
  hash holds the event's meta fields (no seat is named like them): ``#layout`` (this
  layout's version), ``#tokens`` (the last hold token given), ``#booked`` (how many
  seats are booked) and ``#clock`` (the time of the event's last write), so a script
  reads them with its seats in one ``HMGET`` and writes them with its seats.
* ``seatlock:{T}:order`` list: the seats in the order they were added.
* ``seatlock:{T}:due`` sorted set: each locked seat scored by its deadline, so cleanup
  finds the expired ones in O(expired); booking, cancelling or a new lock updates it.

Every script refuses an event whose ``layout`` is another version
(:class:`~seatlock.errors.SeatlockError`), so an old seatlock never writes over a
newer layout. Nothing has a TTL: an expired lock stays until a new lock replaces it or
:meth:`~seatlock.SeatManager.cleanup_expired_locks` frees it (in batches of
``CLEANUP_BATCH`` per script call, so one call never holds the server long).

Durability: Redis acknowledges a write before it is on disk. Without AOF, or with
``appendfsync everysec`` (the AOF default), a crash can lose bookings seatlock has
confirmed; a server without persistence restarts empty, so every seat is gone
(operations answer "does not exist") until a manager adds the seats again. To keep every
confirmed booking, run Redis with ``appendonly yes`` and ``appendfsync always``
(``redis-server --appendonly yes --appendfsync always``, or ``CONFIG SET``); a replica
promoted after a crash can still miss the last writes unless clients use ``WAIT``.

Scaling: Redis runs one script at a time, and one event lives on one Redis server (one
cluster shard); a lock script takes about 10 µs of server time, so one event tops out
near 100,000 operations a second, well above what its clients' round trips usually
reach. ``redis+cluster://host:port``
(:class:`~seatlock.stores.redis_cluster.RedisClusterStore`) spreads events over the
shards of a Redis Cluster, so many events scale out; one event never spans shards.

Failures: a connection that cannot be made or a command that cannot be sent raises
:class:`~seatlock.errors.NotPerformedError`; a connection lost after a script was sent
raises :class:`~seatlock.errors.OutcomeUnknownError`. The client never retries a sent
script. Timeouts: ``socket_timeout`` (:data:`SOCKET_TIMEOUT`) and
``socket_connect_timeout`` (:data:`CONNECT_TIMEOUT`), which the URL's query may set
(``redis://h:6379/0?socket_timeout=2``), like redis-py's other options.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from importlib.resources import files
from types import TracebackType
from typing import TYPE_CHECKING, Any, NamedTuple

from ..errors import NotPerformedError, OutcomeUnknownError, SeatlockError
from ..results import Op, Result, SeatId, UserId
from ..seat import SeatState, SeatStatus
from ..validation import twin_error
from .base import Clock, EventStore, Store
from .codec import decode_id, encode_id, reply_result, twin_key

if TYPE_CHECKING:
    from redis import Redis
    from redis.cluster import RedisCluster
    from redis.commands.core import Script
    from redis.retry import Retry

LAYOUT = "1"
"""The key layout version this module reads and writes (see the module docstring)."""
SOCKET_TIMEOUT = 10.0
"""Default seconds to wait for a reply (``?socket_timeout=`` in the URL overrides it)."""
CONNECT_TIMEOUT = 5.0
"""Default seconds to wait for a connection (``?socket_connect_timeout=`` overrides it)."""
CLEANUP_BATCH = 1000
"""Expired locks freed per cleanup script call (at most 1000: the scripts' chunk size)."""
SCRIPTS = (
    "add_seats",
    "lock",
    "lock_many",
    "book",
    "book_many",
    "cancel",
    "cancel_many",
    "cleanup",
    "status",
    "seat_ids",
    "counts",
)
"""The operations' scripts, ``lua/<name>.lua``; each runs after the shared ``_lib.lua``."""
_MISSING = "The 'redis' store needs redis-py: pip install 'seatlock[redis]'"
_LAYOUT_ERROR = "SEATLOCK_LAYOUT "
_STATE_CODES = {SeatState.AVAILABLE: "F", SeatState.LOCKED: "L", SeatState.BOOKED: "B"}


class _Driver(NamedTuple):
    """redis-py, imported on first use, with seatlock's connection class for it."""

    redis: type[Redis]
    cluster: type[RedisCluster]
    options: dict[str, Any]
    """Client options (a URL's query may override them)."""
    no_retry: Retry
    errors: tuple[type[Exception], ...]
    """redis-py's root exceptions."""
    no_script: type[Exception]
    reply_lost: type[Exception]
    """Raised when the connection fails after a script was sent."""


@cache
def _driver() -> _Driver:
    """Import redis-py (or say how to install it) and build the connection class."""
    try:
        import redis  # noqa: PLC0415 (redis-py is optional)
        from redis.backoff import NoBackoff  # noqa: PLC0415
        from redis.retry import Retry  # noqa: PLC0415
    except ImportError:
        raise ImportError(_MISSING) from None
    lost_types = (redis.ConnectionError, redis.TimeoutError, redis.InvalidResponse)

    class ReplyLostError(redis.ConnectionError):
        """The connection failed after a script was sent: its outcome is unknown.

        Not a plain ``ConnectionError``, so RedisCluster does not retry it.
        """

    class TrackingConnection(redis.Connection):
        """A connection that tells a lost reply to a sent script from a failed send."""

        script_sent = False

        def send_command(self, *args: Any, **kwargs: Any) -> None:
            self.script_sent = False
            super().send_command(*args, **kwargs)  # type: ignore[no-untyped-call]
            self.script_sent = args[0] in ("EVALSHA", "EVAL")

        def read_response(self, *args: Any, **kwargs: Any) -> Any:
            try:
                return super().read_response(*args, **kwargs)
            except lost_types as exc:
                # Exact types only: LOADING, auth errors and such are replies, not lost ones.
                if self.script_sent and type(exc) in lost_types:
                    raise ReplyLostError(str(exc)) from exc
                raise

    options = {
        "connection_class": TrackingConnection,
        "decode_responses": True,
        "encoding_errors": "surrogatepass",
        "socket_timeout": SOCKET_TIMEOUT,
        "socket_connect_timeout": CONNECT_TIMEOUT,
    }
    return _Driver(
        redis.Redis,
        redis.RedisCluster,
        options,
        Retry(NoBackoff(), 0),
        (redis.RedisError, redis.RedisClusterException),
        redis.exceptions.NoScriptError,
        ReplyLostError,
    )


class _DriverErrors:
    """Maps redis-py's errors to seatlock's: the one place that does (``with``)."""

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None or not isinstance(exc, _driver().errors):
            return
        if isinstance(exc, _driver().reply_lost):
            raise OutcomeUnknownError(
                f"Redis connection lost after the operation was sent; it may or may not "
                f"have happened: {exc}"
            ) from exc
        text = str(exc)
        if text.startswith(_LAYOUT_ERROR):
            found = text[len(_LAYOUT_ERROR) :].split(" ", 1)[0]
            raise SeatlockError(
                f"this event has seatlock Redis key layout {found}; this seatlock knows "
                f"layout {LAYOUT} only: use the seatlock version that wrote it"
            ) from exc
        raise NotPerformedError(f"Redis did not perform the operation: {exc}") from exc


_ERRORS = _DriverErrors()


@cache
def _script_texts() -> dict[str, str]:
    """Each operation's script, with the shared prelude in front."""
    lua = files("seatlock.stores") / "lua"
    lib = (lua / "_lib.lua").read_text(encoding="utf-8").replace("{LAYOUT}", LAYOUT)
    return {name: lib + (lua / f"{name}.lua").read_text(encoding="utf-8") for name in SCRIPTS}


def event_tag(event: str) -> str:
    """The hash tag text of ``event``: no ``{`` or ``}``, one per event."""
    return event.replace("%", "%25").replace("{", "%7B").replace("}", "%7D")


def event_keys(event: str) -> list[str]:
    """The keys of ``event``: seats, order, due (one hash slot)."""
    prefix = f"seatlock:{{{event_tag(event)}}}:"
    return [prefix + name for name in ("seats", "order", "due")]


class RedisStore(Store):
    """Events in one Redis server: ``redis://host:port/db``.

    Args:
        url: the server; redis-py's URL query options apply.

    Raises:
        ImportError: redis-py is not installed.
    """

    server_time = True

    client: Redis | RedisCluster
    """The redis-py client (and its connection pool)."""
    time_offset: float
    """Testing aid: seconds added to the store's time, so tests make locks expire without
    sleeping. 0 by default; leave it 0 in production."""
    frozen_time: float | None
    """Testing aid: when set, the server time (seconds) every script uses instead of
    reading ``TIME``, so tests see exact deadlines (see :meth:`freeze_time`). ``None``
    (the server's clock) by default; leave it ``None`` in production."""

    def __init__(self, url: str) -> None:
        self.time_offset = 0.0
        self.frozen_time = None
        self._no_script = _driver().no_script
        with _ERRORS:
            self.client = self._connect(url)
        self._scripts: dict[str, Script] = {
            name: self.client.register_script(text) for name, text in _script_texts().items()
        }

    def _eval(self, name: str, keys: Sequence[str | bytes], *args: str | float) -> Any:
        """Run the script ``lua/<name>.lua``: ``EVALSHA``, one round trip.

        After ``NOSCRIPT`` (a restarted or flushed server) it sends ``EVAL``, which caches
        the script on that server again. (redis-py's ``Script`` would ``SCRIPT LOAD`` it
        on every cluster primary instead, and fail while any shard is down.)
        """
        script = self._scripts[name]
        with _ERRORS:
            try:
                return self.client.evalsha(script.sha, len(keys), *keys, *args)
            except self._no_script:
                return self.client.eval(_script_texts()[name], len(keys), *keys, *args)

    @classmethod
    def from_url(cls, url: str) -> RedisStore:
        """The store at ``url``."""
        return cls(url)

    @classmethod
    def _connect(cls, url: str) -> Redis | RedisCluster:
        """The redis-py client for ``url``, with a connection pool; it never retries."""
        driver = _driver()
        return driver.redis.from_url(url, retry=driver.no_retry, **driver.options)

    def _clock_arg(self) -> str:
        """The scripts' time argument: ``'+<offset>'``, ``'=<frozen time + offset>'``, or
        ``''`` (the server's clock, as in production)."""
        frozen, offset = self.frozen_time, self.time_offset
        if frozen is not None:
            return f"={frozen + offset!r}"
        return f"+{offset!r}" if offset else ""

    def freeze_time(self) -> float:
        """Testing aid: stop the store's clock at the server's time now, in whole seconds
        (so tests' sums of binary fractions are exact); return that time.

        Later, only :attr:`time_offset` moves the store's time. Freeze before an event's
        first write: an event's time never goes back to before its last write.
        """
        with _ERRORS:
            seconds, _ = self.client.time()
        self.frozen_time = float(seconds)
        return self.frozen_time

    def open_event(self, event: str, lock_timeout: float, clock: Clock | None) -> EventStore:
        """The seats of ``event``; ``clock`` must be ``None`` (time is the server's)."""
        return RedisEventStore(self, event, lock_timeout)

    def close(self) -> None:
        """Close the connection pool."""
        self.client.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.client!r}>"


class RedisEventStore(EventStore):
    """One event's seats in Redis (or a Redis Cluster shard)."""

    def __init__(self, store: RedisStore, event: str, lock_timeout: float) -> None:
        self.lock_timeout = lock_timeout
        self._store = store
        self._keys = [key.encode() for key in event_keys(event)]
        self._timeout = repr(lock_timeout)

    def _run(self, script: str, *args: str | float) -> Any:
        """Run one operation's script on this event's keys: one round trip."""
        store = self._store
        testing = store.frozen_time is not None or store.time_offset
        return store._eval(script, self._keys, store._clock_arg() if testing else "", *args)

    def add_seats(self, seat_ids: list[SeatId]) -> None:
        new = list(dict.fromkeys(seat_ids))
        args: list[str] = []
        for seat_id in new:
            args += (encode_id(seat_id), twin_key(seat_id) or "")
        reply = self._run("add_seats", *args)
        if reply[0]:
            raise twin_error(new[reply[1]])

    def lock(self, seat_id: SeatId, user_id: UserId) -> Result:
        reply = self._run("lock", encode_id(user_id), self._timeout, encode_id(seat_id))
        return _result(Op.LOCK, (seat_id,), user_id, None, reply)

    def lock_many(self, seat_ids: tuple[SeatId, ...], user_id: UserId, label: object) -> Result:
        ids = [encode_id(s) for s in seat_ids]
        reply = self._run("lock_many", encode_id(user_id), self._timeout, *ids)
        return _result(Op.LOCK_BULK, seat_ids, user_id, label, reply)

    def book(self, seat_id: SeatId, user_id: UserId) -> Result:
        reply = self._run("book", encode_id(user_id), encode_id(seat_id))
        return _result(Op.BOOK, (seat_id,), user_id, None, reply)

    def book_many(self, seat_ids: tuple[SeatId, ...], user_id: UserId, label: object) -> Result:
        reply = self._run("book_many", encode_id(user_id), *[encode_id(s) for s in seat_ids])
        return _result(Op.BOOK_BULK, seat_ids, user_id, label, reply)

    def cancel(self, seat_id: SeatId, user_id: UserId) -> Result:
        reply = self._run("cancel", encode_id(user_id), encode_id(seat_id))
        return _result(Op.CANCEL, (seat_id,), user_id, None, reply)

    def cancel_many(self, seat_ids: tuple[SeatId, ...], user_id: UserId, label: object) -> Result:
        reply = self._run("cancel_many", encode_id(user_id), *[encode_id(s) for s in seat_ids])
        return _result(Op.CANCEL_BULK, seat_ids, user_id, label, reply)

    def cleanup(self) -> int:
        released = 0
        more = 1
        while more:
            count, more = self._run("cleanup", str(CLEANUP_BATCH))
            released += count
        return released

    def status(self, seat_id: SeatId) -> SeatStatus | None:
        reply = self._run("status", encode_id(seat_id))
        if reply is None:
            return None
        kind = reply[0]
        if kind == "F":
            return SeatStatus(seat_id, SeatState.AVAILABLE)
        if kind == "B":
            return SeatStatus(seat_id, SeatState.BOOKED, decode_id(reply[1]))
        _, holder, deadline, left, token = reply
        return SeatStatus(
            seat_id,
            SeatState.LOCKED,
            decode_id(holder),
            float(deadline),
            float(left),
            int(token),
        )

    def seat_ids(self, state: SeatState | None = None) -> list[SeatId]:
        reply = self._run("seat_ids", "" if state is None else _STATE_CODES[state])
        return [decode_id(key) for key in reply]

    def counts(self) -> dict[SeatState, int]:
        seats, booked, locked = self._run("counts")
        return {
            SeatState.AVAILABLE: seats - booked - locked,
            SeatState.LOCKED: locked,
            SeatState.BOOKED: booked,
        }


def _result(
    op: Op, seat_ids: tuple[SeatId, ...], user_id: UserId, label: object, reply: Any
) -> Result:
    """The result of a lock, book or cancel script's reply: on success a string (a lock's
    ``'deadline token'``, else ``''``: one bulk reply parses fastest), else the conflicts
    ``[position, code, holder or None, ...]``."""
    if type(reply) is str:
        if not reply:
            return reply_result(op, seat_ids, user_id, label, ())
        deadline, token = reply.split(" ")
        return reply_result(op, seat_ids, user_id, label, (), float(deadline), int(token))
    conflicts = [(reply[i], reply[i + 1], reply[i + 2]) for i in range(0, len(reply), 3)]
    return reply_result(op, seat_ids, user_id, label, conflicts)
