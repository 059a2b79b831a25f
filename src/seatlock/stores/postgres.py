"""The PostgreSQL store (``postgresql://…``): one database shared by many processes and hosts.

Layout: one PostgreSQL schema (``seatlock`` unless ``schema=`` names another), created on
first use from ``sql/postgres_schema.sql``, holding many events:

* ``version (version)``: one row, the schema version; a database with another is refused.
* ``events (event)``: one row per event; ``add_seats`` calls on an event take turns on it.
* ``seats (event, seat, added, state, holder, deadline, token, changed)``, keyed
  ``(event, seat)``: ``state`` 0 available, 1 locked, 2 booked; ``holder`` who holds the
  lock or booked; ``deadline`` (epoch seconds, server time) and ``token`` of the lock;
  ``changed`` when the seat last changed; ``added`` orders seats as added. An expired
  lock stays ``state = 1`` until a new lock replaces it or cleanup releases it; the
  partial index ``seats_due (event, deadline) WHERE state = 1`` lets cleanup read only
  expired locks.
* sequence ``tokens``; functions ``apply_one``, ``apply_many`` (lock, book or cancel),
  ``add_seats``, ``status``, ``seat_ids``, ``counts`` and procedure ``cleanup``: every
  operation is one call, one round trip.

Seat and user ids are stored as the UTF-8 bytes (surrogates passed) of
:func:`~.codec.encode_id`, event names as their UTF-8 bytes, so any ``str`` round-trips.

Concurrency: a one-seat call is one conditional ``UPDATE`` of the row (only a refused one
then locks the row to find out why); a bulk call locks its rows in key order (``ORDER BY
seat FOR UPDATE``), checks every seat and writes all or none. Cleanup takes expired rows
``FOR UPDATE SKIP LOCKED`` in batches, committing after each. Connections run READ
COMMITTED. So seatlock's calls never deadlock nor fail to serialize: nothing is retried.

Tokens come from one sequence (not cached per session), drawn as a call writes its rows:
a token is larger than every earlier one on the same seats and than every lock that
finished before its call began. (Two overlapping locks of different seats may commit in
the other order than their tokens.)

Time is the server's ``clock_timestamp()`` in epoch seconds, read once as each call
starts, plus :attr:`PostgresStore.time_offset`: never the client's clock. A seat's time
never runs back: a call acts on a seat at the later of its own time and the seat's
``changed``, the time of the last call that changed it. (A call that waits for a row
another call holds without changing it decides as of its start.)
"""

from __future__ import annotations

import math
import threading
import weakref
from collections.abc import Sequence
from functools import partial
from importlib.resources import files
from typing import TYPE_CHECKING, Any

from ..errors import NotPerformedError, OutcomeUnknownError, SeatlockError
from ..results import Op, Result, SeatId, UserId
from ..seat import SeatState, SeatStatus
from ..validation import twin_error
from .base import Clock, EventStore, Store
from .codec import decode_id, encode_id, reply_result, twin_key

if TYPE_CHECKING:
    import psycopg
    from psycopg_pool import ConnectionPool

SCHEMA_VERSION = 1
"""The layout this module reads and writes; a database with another one is refused."""

CLEANUP_BATCH = 1000
"""Cleanup commits after releasing this many locks, so it never holds rows long."""

_MISSING = "The 'postgresql' store needs psycopg: pip install 'seatlock[postgres]'"
_STATES: tuple[SeatState, ...] = tuple(SeatState)
_SQL_OPS = {
    Op.LOCK: "lock",
    Op.LOCK_BULK: "lock",
    Op.BOOK: "book",
    Op.BOOK_BULK: "book",
    Op.CANCEL: "cancel",
    Op.CANCEL_BULK: "cancel",
}
_SCHEMA_LOCK = 0x5EA7_10C5
"""Advisory lock key taken while the schema is checked or created."""


def _id(value: SeatId | UserId) -> bytes:
    return encode_id(value).encode("utf-8", "surrogatepass")


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogatepass")


class PostgresStore(Store):
    """Events in a PostgreSQL database, shared by every process that opens it.

    Args:
        conninfo: a libpq connection string or ``postgresql://`` URL.
        schema: the PostgreSQL schema that holds seatlock's tables (created if missing).
        min_size, max_size: bounds of the connection pool, opened on first use.
        timeout: seconds an operation waits for a pooled connection.
        connect_timeout: seconds to wait for the server when connecting.
        statement_timeout: seconds a statement may run (``None``: no limit).
        pool_options: more options of ``psycopg_pool.ConnectionPool`` (``max_idle``, …).

    Raises:
        ImportError: psycopg or psycopg_pool is not installed.
    """

    server_time = True

    time_offset: float
    """Testing aid: seconds added to the store's time, so tests make locks expire without
    sleeping. 0 by default; leave it 0 in production."""
    frozen_time: float | None
    """Testing aid: when set, the server time (seconds) every statement uses instead of
    reading the server's clock, so tests see exact deadlines (see :meth:`freeze_time`).
    ``None`` (the server's clock) by default; leave it ``None`` in production."""

    def __init__(
        self,
        conninfo: str = "",
        *,
        schema: str = "seatlock",
        min_size: int = 1,
        max_size: int = 10,
        timeout: float = 10.0,
        connect_timeout: int = 5,
        statement_timeout: float | None = 30.0,
        **pool_options: Any,
    ) -> None:
        try:
            import psycopg_pool  # noqa: F401, PLC0415 (optional: only checked for here)
            from psycopg import sql  # noqa: PLC0415
        except ImportError:
            raise ImportError(_MISSING) from None
        self.conninfo = conninfo
        self.schema = schema
        self.time_offset = 0.0
        self.frozen_time = None
        self._pool_options = {
            "min_size": min_size,
            "max_size": max_size,
            "timeout": timeout,
            **pool_options,
        }
        self._max_size = max_size
        self._connect_timeout = connect_timeout
        self._statement_timeout_ms = round((statement_timeout or 0) * 1000)
        self._pool: ConnectionPool[Any] | None = None
        self._starting = threading.Lock()
        self._schema_sql = sql.Identifier(schema).as_string(None)
        name = self._schema_sql
        self._sql_apply_one = f"SELECT * FROM {name}.apply_one(%s, %s, %s, %s, %s, %s, %s)"
        self._sql_apply_many = f"SELECT * FROM {name}.apply_many(%s, %s, %s, %s, %s, %s, %s)"
        self._sql_add = f"SELECT {name}.add_seats(%s, %s, %s)"
        self._sql_cleanup = f"CALL {name}.cleanup(%s, {CLEANUP_BATCH}, %s, %s, NULL)"
        self._sql_status = f"SELECT * FROM {name}.status(%s, %s, %s, %s)"
        self._sql_seat_ids = f"SELECT * FROM {name}.seat_ids(%s, %s, %s, %s)"
        self._sql_counts = f"SELECT * FROM {name}.counts(%s, %s, %s)"
        self._sql_clock = f"SELECT {name}.clock(%s, %s)"

    @classmethod
    def from_url(cls, url: str) -> PostgresStore:
        """The store at a ``postgresql://`` (or ``postgres://``) libpq URL."""
        return cls(url)

    def open_event(self, event: str, lock_timeout: float, clock: Clock | None) -> EventStore:
        """The seats of ``event``; ``clock`` is not used (time comes from the server)."""
        return PostgresEventStore(self, event, lock_timeout)

    def now(self) -> float:
        """The store's time now (seconds), as every statement would take it."""
        now: float = self._run(self._sql_clock, self._time())[0][0]
        return now

    def freeze_time(self) -> float:
        """Testing aid: stop the store's clock at the server's time now, in whole seconds
        (so tests' sums of binary fractions are exact); return that time.

        Later, only :attr:`time_offset` moves the store's time.
        """
        self.frozen_time = float(math.floor(self._run(self._sql_clock, (None, 0.0))[0][0]))
        return self.frozen_time

    def _time(self) -> tuple[float | None, float]:
        """The time parameters of a statement: ``(frozen time + offset or None, offset)``."""
        frozen, offset = self.frozen_time, float(self.time_offset)
        return (None if frozen is None else frozen + offset), offset

    def close(self) -> None:
        """Close the pool's connections (a later call opens a new pool)."""
        with self._starting:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    def _run(
        self, query: str, params: Sequence[object], *, atomic: bool = True
    ) -> list[tuple[Any, ...]]:
        """Run one statement in its own transaction (one round trip); return its rows.

        ``atomic=False`` for a statement that commits in steps (a failure may leave some).
        """
        pool = self._pool or self._start()
        with _SENT if atomic else _SENT_IN_STEPS:
            for _ in range(self._max_size + 1):
                conn = pool.getconn()
                try:
                    if not _closed_while_idle(conn):  # else the pool replaces it: try another
                        cursor = conn.execute(query, params, binary=True)  # less to parse
                        rows: list[tuple[Any, ...]] = cursor.fetchall()
                        return rows
                finally:
                    pool.putconn(conn)
        raise NotPerformedError("every pooled PostgreSQL connection was closed by the server")

    def _start(self) -> ConnectionPool[Any]:
        """Check (or create) the schema on a first connection, then open the pool."""
        import psycopg  # noqa: PLC0415 (optional, imported on first use)
        from psycopg_pool import ConnectionPool  # noqa: PLC0415

        with self._starting, _UNSENT:
            if self._pool is None:
                with psycopg.connect(
                    self.conninfo, autocommit=True, connect_timeout=self._connect_timeout
                ) as conn:
                    self._ensure_schema(conn)
                pool: ConnectionPool[Any] = ConnectionPool(
                    self.conninfo,
                    kwargs={"autocommit": True, "connect_timeout": self._connect_timeout},
                    configure=self._configure,
                    open=False,
                    **{"name": f"seatlock-{self.schema}", **self._pool_options},
                )
                pool.open()
                self._pool = pool
            return self._pool

    def _configure(self, conn: psycopg.Connection[Any]) -> None:
        """Set up a new pooled connection: statement timeout, READ COMMITTED, and generic
        plans (seatlock's statements are planned once per connection, not per call)."""
        conn.execute(
            "SELECT set_config('statement_timeout', %s, false),"
            " set_config('default_transaction_isolation', 'read committed', false),"
            " set_config('plan_cache_mode', 'force_generic_plan', false)",
            (str(self._statement_timeout_ms),),
        )
        conn.add_notice_handler(partial(_note_farewell, weakref.ref(conn)))

    def _ensure_schema(self, conn: psycopg.Connection[Any]) -> None:
        """Create the schema if it has no version yet; refuse another version."""
        name = self._schema_sql
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            row = conn.execute("SELECT to_regclass(%s)", (f"{name}.version",)).fetchone()
            if row is None or row[0] is None:
                script = files(__package__).joinpath("sql/postgres_schema.sql").read_text()
                conn.execute(script.replace("{schema}", name))
                conn.execute(f"INSERT INTO {name}.version (version) VALUES (%s)", (SCHEMA_VERSION,))
                return
            version = conn.execute(f"SELECT version FROM {name}.version").fetchone()
        if version is None or version[0] != SCHEMA_VERSION:
            found = None if version is None else version[0]
            raise SeatlockError(
                f"PostgreSQL schema {self.schema!r} has seatlock schema version {found}; this "
                f"seatlock knows version {SCHEMA_VERSION}: use the seatlock version that wrote it"
            )


class _Failures:
    """Maps driver errors to seatlock's, ``raise … from``: the one place that does.

    Args:
        sent: the statement may have reached the server.
        atomic: the statement is one transaction, so a server error undid all of it.
    """

    __slots__ = ("atomic", "sent")

    def __init__(self, *, sent: bool, atomic: bool = True) -> None:
        self.sent = sent
        self.atomic = atomic

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> None:
        if exc is None:
            return
        import psycopg  # noqa: PLC0415 (optional; loaded by now)
        import psycopg_pool  # noqa: PLC0415

        if not isinstance(exc, psycopg.Error):
            return
        no_connection = isinstance(
            exc, (psycopg_pool.PoolTimeout, psycopg_pool.PoolClosed, psycopg_pool.TooManyRequests)
        )
        refused = self.atomic and exc.diag.severity_nonlocalized == "ERROR"
        if no_connection or refused or not self.sent:
            raise NotPerformedError(
                f"the PostgreSQL store did not perform the operation: {exc}"
            ) from exc
        raise OutcomeUnknownError(
            "the PostgreSQL connection failed mid-operation, which may or may not have "
            f"happened: {exc}"
        ) from exc


_UNSENT = _Failures(sent=False)
_SENT = _Failures(sent=True)
_SENT_IN_STEPS = _Failures(sent=True, atomic=False)


_FAREWELLS: weakref.WeakSet[psycopg.Connection[Any]] = weakref.WeakSet()
"""Pooled connections whose server sent a ``FATAL`` message while they were idle."""


def _note_farewell(
    conn: weakref.ref[psycopg.Connection[Any]], notice: psycopg.errors.Diagnostic
) -> None:
    """Notice handler: a ``FATAL`` message while idle means the server is closing ``conn``."""
    if notice.severity_nonlocalized == "FATAL" and (alive := conn()) is not None:
        _FAREWELLS.add(alive)


def _closed_while_idle(conn: psycopg.Connection[Any]) -> bool:
    """True if the server closed (or is closing) this idle connection; found without a
    round trip.

    The first read may get the server's farewell message, the second the end of stream.
    The farewell can come before the end of stream: parsing it calls :func:`_note_farewell`.
    """
    import psycopg  # noqa: PLC0415 (optional; loaded by now)

    try:
        conn.pgconn.consume_input()
        conn.pgconn.consume_input()
        conn.pgconn.is_busy()  # parses what came
    except psycopg.OperationalError:
        conn.close()
        return True
    if conn in _FAREWELLS:
        conn.close()
        return True
    return False


class PostgresEventStore(EventStore):
    """One event's seats in a :class:`PostgresStore`."""

    def __init__(self, store: PostgresStore, event: str, lock_timeout: float) -> None:
        self.lock_timeout = lock_timeout
        self._store = store
        self._event = event.encode("utf-8", "surrogatepass")

    def add_seats(self, seat_ids: list[SeatId]) -> None:
        if not seat_ids:
            return
        twins = {key: seat_id for seat_id in seat_ids if (key := twin_key(seat_id)) is not None}
        store = self._store
        ((found,),) = store._run(
            store._sql_add,
            (self._event, [_id(s) for s in seat_ids], [k.encode() for k in twins]),
        )
        if found is not None:
            raise twin_error(twins[_text(found)])

    def lock(self, seat_id: SeatId, user_id: UserId) -> Result:
        return self._apply_one(Op.LOCK, seat_id, user_id)

    def lock_many(self, seat_ids: tuple[SeatId, ...], user_id: UserId, label: object) -> Result:
        return self._apply_many(Op.LOCK_BULK, seat_ids, user_id, label)

    def book(self, seat_id: SeatId, user_id: UserId) -> Result:
        return self._apply_one(Op.BOOK, seat_id, user_id)

    def book_many(self, seat_ids: tuple[SeatId, ...], user_id: UserId, label: object) -> Result:
        return self._apply_many(Op.BOOK_BULK, seat_ids, user_id, label)

    def cancel(self, seat_id: SeatId, user_id: UserId) -> Result:
        return self._apply_one(Op.CANCEL, seat_id, user_id)

    def cancel_many(self, seat_ids: tuple[SeatId, ...], user_id: UserId, label: object) -> Result:
        return self._apply_many(Op.CANCEL_BULK, seat_ids, user_id, label)

    def _apply_one(self, op: Op, seat_id: SeatId, user_id: UserId) -> Result:
        """Lock, book or cancel one seat: one call of ``apply_one``."""
        store = self._store
        ((code, holder, deadline, token),) = store._run(
            store._sql_apply_one,
            (
                self._event,
                _id(seat_id),
                _id(user_id),
                _SQL_OPS[op],
                float(self.lock_timeout),
                *store._time(),
            ),
        )
        conflicts = [(0, code, _holder(holder))] if code else ()
        return reply_result(op, (seat_id,), user_id, None, conflicts, deadline, token)

    def _apply_many(
        self, op: Op, seat_ids: tuple[SeatId, ...], user_id: UserId, label: object
    ) -> Result:
        """Lock, book or cancel all of ``seat_ids`` or none: one call of ``apply_many``."""
        store = self._store
        ((at, codes, holders, deadline, token),) = store._run(
            store._sql_apply_many,
            (
                self._event,
                [_id(s) for s in seat_ids],
                _id(user_id),
                _SQL_OPS[op],
                float(self.lock_timeout),
                *store._time(),
            ),
        )
        conflicts = () if at is None else zip(at, codes, map(_holder, holders), strict=True)
        return reply_result(op, seat_ids, user_id, label, conflicts, deadline, token)

    def cleanup(self) -> int:
        store = self._store
        ((released,),) = store._run(store._sql_cleanup, (self._event, *store._time()), atomic=False)
        return int(released)

    def status(self, seat_id: SeatId) -> SeatStatus | None:
        store = self._store
        rows = store._run(store._sql_status, (self._event, _id(seat_id), *store._time()))
        if not rows:
            return None
        ((state, holder, deadline, token, now),) = rows
        return SeatStatus(
            seat_id,
            _STATES[state],
            None if holder is None else decode_id(_text(holder)),
            deadline,
            None if deadline is None else deadline - now,
            token,
        )

    def seat_ids(self, state: SeatState | None = None) -> list[SeatId]:
        store = self._store
        code = None if state is None else _STATES.index(state)
        rows = store._run(store._sql_seat_ids, (self._event, code, *store._time()))
        return [decode_id(_text(seat)) for (seat,) in rows]

    def counts(self) -> dict[SeatState, int]:
        store = self._store
        ((available, locked, booked),) = store._run(
            store._sql_counts, (self._event, *store._time())
        )
        return {SeatState.AVAILABLE: available, SeatState.LOCKED: locked, SeatState.BOOKED: booked}


def _holder(raw: bytes | None) -> str | None:
    return None if raw is None else _text(raw)
