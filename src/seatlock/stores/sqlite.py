"""The embedded store (``sqlite:///file.db``): one file, shared by the processes of one host.

The default for one machine: no server, survives restarts, safe across threads and
processes. Every operation is one ``BEGIN IMMEDIATE`` transaction (one writer at a time;
others wait up to ``timeout`` seconds, 10 by default, then get
:class:`~seatlock.errors.NotPerformedError`). The file is in WAL mode with
``synchronous=FULL``, so a confirmed booking survives a crash or power loss;
``?synchronous=normal`` trades that (for power loss only) for speed.

Time: deadlines must mean the same in every process and after a restart, so they come
from the host's wall clock, ``time.time()`` (or ``clock=``). A step of that clock (NTP,
an admin) moves every deadline with it: a step forward expires locks early, a step back
keeps them longer.

URL: ``sqlite:///relative/path.db`` (relative to the working directory) or
``sqlite:////absolute/path.db``, optionally ``?timeout=SECONDS&synchronous=full|normal``.

Layout (schema version :data:`SCHEMA_VERSION`, created on first use)::

    seatlock_meta(key PRIMARY KEY, value)          -- 'schema_version'
    seatlock_events(event PRIMARY KEY, token)      -- last hold token given in the event
    seatlock_seats(event, seat, ord, state, holder, deadline, token,
                   PRIMARY KEY (event, seat))      -- event, seat, holder: UTF-8 bytes
                                                   -- of the name, codec.encode_id text;
                                                   -- state 0 free, 1 locked, 2 booked
    INDEX seatlock_seats_due (event, deadline) WHERE state = 1   -- cleanup is O(expired)
    INDEX seatlock_seats_ord (event, ord)                        -- seats in the order added

A locked row whose deadline has passed is an expired lock: every operation treats it as
free; a new lock overwrites it, cleanup frees the rest.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..errors import NotPerformedError, OutcomeUnknownError, SeatlockError
from ..results import Op, Reason, Result, SeatId, UserId, bulk_failure
from ..rules import lock_conflict, release_conflict
from ..seat import SeatState, SeatStatus
from ..validation import twin_error
from .base import Clock, EventStore, Store
from .codec import decode_id, encode_id, twin_key

SCHEMA_VERSION = 1
_STATES = tuple(SeatState)
"""Stored state code → SeatState: 0 free, 1 locked, 2 booked."""
_CLEANUP_BATCH = 500
_SYNCHRONOUS = ("full", "normal")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS seatlock_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS seatlock_events (
    event BLOB PRIMARY KEY, token INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS seatlock_seats (
    event BLOB NOT NULL, seat BLOB NOT NULL, ord INTEGER NOT NULL,
    state INTEGER NOT NULL DEFAULT 0, holder BLOB, deadline REAL, token INTEGER,
    PRIMARY KEY (event, seat)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS seatlock_seats_due ON seatlock_seats (event, deadline)
    WHERE state = 1;
CREATE INDEX IF NOT EXISTS seatlock_seats_ord ON seatlock_seats (event, ord)
"""
_CHUNK = 500
"""Seats named per statement (SQLite limits a statement's parameters)."""
_SET_LOCKED = "state = 1, holder = ?, deadline = ?, token = ?"
_SET_BOOKED = "state = 2, deadline = NULL, token = NULL"
_SET_FREE = "state = 0, holder = NULL, deadline = NULL, token = NULL"
_LIVE_STATE = "CASE WHEN state = 1 AND deadline <= ? THEN 0 ELSE state END"


class SQLiteStore(Store):
    """Events in one SQLite file.

    Args:
        path: the database file (created if missing; its folder must exist).
        timeout: seconds an operation waits for another process's write to finish.
        synchronous: ``"full"`` (durable on power loss) or ``"normal"``.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, timeout: float = 10.0, synchronous: str = "full"
    ) -> None:
        if synchronous not in _SYNCHRONOUS:
            raise ValueError(f"synchronous must be one of {_SYNCHRONOUS}, not {synchronous!r}")
        if not timeout >= 0:
            raise ValueError(f"timeout must be >= 0 seconds, not {timeout!r}")
        self.path = Path(path).absolute()
        self.timeout = timeout
        self._synchronous = synchronous.upper()
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._mutex = threading.Lock()
        with self.transaction() as db:
            for statement in _SCHEMA.split(";"):
                db.execute(statement)
            row = db.execute(
                "SELECT value FROM seatlock_meta WHERE key = 'schema_version'"
            ).fetchone()
            if row is None:
                db.execute(
                    "INSERT INTO seatlock_meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
                )
            elif int(row[0]) > SCHEMA_VERSION:
                raise SeatlockError(
                    f"{self.path} has seatlock schema version {row[0]}; this seatlock knows "
                    f"up to {SCHEMA_VERSION}: upgrade seatlock"
                )

    @classmethod
    def from_url(cls, url: str) -> SQLiteStore:
        """``sqlite:///relative.db`` or ``sqlite:////absolute.db``, with optional query."""
        parts = urlsplit(url)
        path = parts.path[1:] if parts.path.startswith("/") else parts.path
        if parts.netloc or not path:
            raise ValueError(
                "a SQLite URL is sqlite:///relative/file.db or sqlite:////absolute/file.db, "
                f"not {url!r}"
            )
        options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        unknown = set(options) - {"timeout", "synchronous"}
        if unknown:
            raise ValueError(f"unknown SQLite URL option(s) {sorted(unknown)} in {url!r}")
        try:
            timeout = float(options.get("timeout", 10.0))
        except ValueError:
            raise ValueError(f"timeout must be a number of seconds in {url!r}") from None
        return cls(path, timeout=timeout, synchronous=options.get("synchronous", "full").lower())

    def open_event(self, event: str, lock_timeout: float, clock: Clock | None) -> EventStore:
        """The seats of ``event``; deadlines from ``clock`` (default ``time.time``)."""
        with self.transaction() as db:
            db.execute("INSERT OR IGNORE INTO seatlock_events (event) VALUES (?)", (_blob(event),))
        return SQLiteEventStore(self, event, lock_timeout, clock or time.time)

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection (a forked child opens its own)."""
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            try:
                db = sqlite3.connect(
                    self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False
                )
                db.execute("PRAGMA journal_mode = WAL")
                db.execute(f"PRAGMA synchronous = {self._synchronous}")
            except sqlite3.Error as exc:
                raise NotPerformedError(f"cannot open SQLite database {self.path}: {exc}") from exc
            local.db, local.pid = db, os.getpid()
            with self._mutex:
                self._connections.append(db)
        conn: sqlite3.Connection = local.db
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``), with SQLite errors mapped.

        Raises:
            NotPerformedError: it did not commit (busy past the timeout, I/O error…).
            OutcomeUnknownError: the commit failed and even the rollback failed.
        """
        db = self._connection()
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise NotPerformedError(f"SQLite {self.path}: could not start a write: {exc}") from exc
        try:
            yield db
            db.execute("COMMIT")
        except BaseException as exc:
            try:
                db.execute("ROLLBACK")
            except sqlite3.Error as rollback_exc:
                raise OutcomeUnknownError(
                    f"SQLite {self.path}: the write failed ({exc}) and so did its rollback"
                ) from rollback_exc
            if isinstance(exc, sqlite3.Error):
                raise NotPerformedError(f"SQLite {self.path}: {exc}") from exc
            raise

    def read(self, sql: str, params: tuple[object, ...]) -> list[tuple[Any, ...]]:
        """Rows of one read-only statement (a consistent snapshot), SQLite errors mapped."""
        try:
            return self._connection().execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise NotPerformedError(f"SQLite {self.path}: {exc}") from exc

    def close(self) -> None:
        """Close every connection this store opened."""
        with self._mutex:
            connections, self._connections = self._connections, []
        for db in connections:
            db.close()
        self._local = threading.local()


class SQLiteEventStore(EventStore):
    """One event's seats in a SQLite file."""

    def __init__(self, store: SQLiteStore, event: str, lock_timeout: float, clock: Clock) -> None:
        self.lock_timeout = lock_timeout
        self._store = store
        self._event = _blob(event)
        self._clock = clock

    def _select(
        self, db: sqlite3.Connection, columns: str, keys: list[bytes]
    ) -> Iterator[tuple[Any, ...]]:
        """The rows of the seats ``keys`` (those that exist), a chunk of keys at a time."""
        for i in range(0, len(keys), _CHUNK):
            chunk = keys[i : i + _CHUNK]
            yield from db.execute(
                f"SELECT {columns} FROM seatlock_seats WHERE event = ? AND {_in(chunk)}",
                (self._event, *chunk),
            )

    def _update(
        self, db: sqlite3.Connection, assign: str, values: tuple[object, ...], keys: list[bytes]
    ) -> None:
        """``UPDATE … SET assign`` the seats ``keys``, a chunk of keys at a time."""
        for i in range(0, len(keys), _CHUNK):
            chunk = keys[i : i + _CHUNK]
            db.execute(
                f"UPDATE seatlock_seats SET {assign} WHERE event = ? AND {_in(chunk)}",
                (*values, self._event, *chunk),
            )

    def add_seats(self, seat_ids: list[SeatId]) -> None:
        twins = {_blob(k): s for s in seat_ids if (k := twin_key(s)) is not None}
        with self._store.transaction() as db:
            for (clash,) in self._select(db, "seat", list(twins)):
                raise twin_error(twins[clash])
            (start,) = db.execute(
                "SELECT COALESCE(MAX(ord), 0) + 1 FROM seatlock_seats WHERE event = ?",
                (self._event,),
            ).fetchone()
            db.executemany(
                "INSERT INTO seatlock_seats (event, seat, ord) VALUES (?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                [(self._event, _key(s), start + i) for i, s in enumerate(seat_ids)],
            )

    def _change(
        self, op: Op, seat_ids: tuple[SeatId, ...], user_id: UserId, label: object
    ) -> Result:
        """Check every seat for ``op``, then change all of them, in one transaction."""
        keys = [_key(s) for s in seat_ids]
        locking = op is Op.LOCK or op is Op.LOCK_BULK
        check = lock_conflict if locking else release_conflict
        deadline = token = None
        with self._store.transaction() as db:
            now = self._clock()
            rows = {row[0]: row for row in self._select(db, "seat, state, holder, deadline", keys)}
            conflicts = []
            for seat_id, key in zip(seat_ids, keys, strict=True):
                row = rows.get(key)
                conflict = (
                    check(seat_id, user_id, None, None, None, now)
                    if row is None
                    else check(
                        seat_id,
                        user_id,
                        _STATES[row[1]],
                        None if row[2] is None else _id(row[2]),
                        row[3],
                        now,
                    )
                )
                if conflict is not None:
                    conflicts.append(conflict)
            if conflicts:
                if label is None:
                    seat_id, reason, holder = conflicts[0]
                    return Result(op, reason, seat_id, user_id, holder)
                return bulk_failure(op, seat_ids, user_id, conflicts)
            if locking:
                deadline = now + self.lock_timeout
                (token,) = db.execute(
                    "UPDATE seatlock_events SET token = token + 1 WHERE event = ? RETURNING token",
                    (self._event,),
                ).fetchone()
                self._update(db, _SET_LOCKED, (_key(user_id), deadline, token), keys)
            elif op is Op.BOOK or op is Op.BOOK_BULK:
                self._update(db, _SET_BOOKED, (), keys)
            else:
                self._update(db, _SET_FREE, (), keys)
        subject = seat_ids[0] if label is None else seat_ids
        return Result(op, Reason.OK, subject, user_id, label, deadline, token)

    def lock(self, seat_id: SeatId, user_id: UserId) -> Result:
        return self._change(Op.LOCK, (seat_id,), user_id, None)

    def lock_many(self, seat_ids: tuple[SeatId, ...], user_id: UserId, label: object) -> Result:
        return self._change(Op.LOCK_BULK, seat_ids, user_id, label)

    def book(self, seat_id: SeatId, user_id: UserId) -> Result:
        return self._change(Op.BOOK, (seat_id,), user_id, None)

    def book_many(self, seat_ids: tuple[SeatId, ...], user_id: UserId, label: object) -> Result:
        return self._change(Op.BOOK_BULK, seat_ids, user_id, label)

    def cancel(self, seat_id: SeatId, user_id: UserId) -> Result:
        return self._change(Op.CANCEL, (seat_id,), user_id, None)

    def cancel_many(self, seat_ids: tuple[SeatId, ...], user_id: UserId, label: object) -> Result:
        return self._change(Op.CANCEL_BULK, seat_ids, user_id, label)

    def cleanup(self) -> int:
        released = 0
        while True:
            with self._store.transaction() as db:
                batch = db.execute(
                    f"UPDATE seatlock_seats SET {_SET_FREE} "
                    """WHERE event = ?1 AND seat IN (
                           SELECT seat FROM seatlock_seats
                           WHERE event = ?1 AND state = 1 AND deadline <= ?2 LIMIT ?3)""",
                    (self._event, self._clock(), _CLEANUP_BATCH),
                ).rowcount
            released += batch
            if batch < _CLEANUP_BATCH:
                return released

    def status(self, seat_id: SeatId) -> SeatStatus | None:
        rows = self._store.read(
            "SELECT state, holder, deadline, token FROM seatlock_seats "
            "WHERE event = ? AND seat = ?",
            (self._event, _key(seat_id)),
        )
        if not rows:
            return None
        now = self._clock()
        code, holder, deadline, token = rows[0]
        state = _STATES[code]
        if state is SeatState.LOCKED and deadline > now:
            return SeatStatus(seat_id, state, _id(holder), deadline, deadline - now, token)
        if state is SeatState.BOOKED:
            return SeatStatus(seat_id, state, _id(holder))
        return SeatStatus(seat_id, SeatState.AVAILABLE)

    def seat_ids(self, state: SeatState | None = None) -> list[SeatId]:
        sql: str = ""
        params: tuple[object, ...] = ()
        if state is not None:
            sql, params = f" AND {_LIVE_STATE} = ?", (self._clock(), _STATES.index(state))
        rows = self._store.read(
            f"SELECT seat FROM seatlock_seats WHERE event = ?{sql} ORDER BY ord",
            (self._event, *params),
        )
        return [_id(row[0]) for row in rows]

    def counts(self) -> dict[SeatState, int]:
        rows = self._store.read(
            f"SELECT {_LIVE_STATE} AS live, COUNT(*) FROM seatlock_seats "
            "WHERE event = ? GROUP BY live",
            (self._clock(), self._event),
        )
        counts = dict.fromkeys(SeatState, 0)
        for code, count in rows:
            counts[_STATES[code]] = count
        return counts


def _blob(text: str) -> bytes:
    """How text is stored: UTF-8 bytes, lone surrogates kept, so any ``str`` round-trips
    (SQLite's TEXT stops at a NUL and refuses surrogates)."""
    return text.encode("utf-8", "surrogatepass")


def _key(value: SeatId | UserId) -> bytes:
    """The stored key of a seat or user id."""
    return _blob(encode_id(value))


def _id(stored: bytes) -> SeatId:
    """The id a stored key holds."""
    return decode_id(stored.decode("utf-8", "surrogatepass"))


def _in(keys: list[bytes]) -> str:
    """``seat IN (?, …)`` for ``keys``."""
    return f"seat IN ({', '.join('?' * len(keys))})"
