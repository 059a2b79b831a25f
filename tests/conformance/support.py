"""Venues for the conformance suite: one event on one store, private to one test.

A :class:`Venue` opens managers on its own store and event and moves that store's time.
Each store has one subclass; ``conftest.VENUES`` lists them. A subclass imports its
driver inside ``__init__``, never at module top, so the suite collects without it.
"""

from __future__ import annotations

import tempfile
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from seatlock import Seat, SeatManager, SeatState, SeatStatus
from seatlock.results import SeatId
from seatlock.stores import Store

from ..redis_servers import open_redis
from ..services import POSTGRES_URL, REDIS_URL, need_memory_engine, unavailable

if TYPE_CHECKING:
    from seatlock.stores.postgres import PostgresStore
    from seatlock.stores.redis import RedisStore

DEFAULT: Any = object()
"""Passed as ``lock_timeout`` to leave it out, so the manager uses its own default."""


class Venue(ABC):
    """One event on one store for one test; closes its managers at teardown."""

    url: str | None = None
    """A URL other processes can open this store by (its real clock, not the venue's);
    ``None`` when the store is private to this process."""

    def __init__(self, event: str) -> None:
        self.event = event
        self._managers: list[SeatManager] = []

    def manager(self, seats: Iterable[Seat | SeatId], lock_timeout: Any = DEFAULT) -> SeatManager:
        """A new manager on this venue's store and event (``lock_timeout`` may be misuse)."""
        options: dict[str, Any] = {} if lock_timeout is DEFAULT else {"lock_timeout": lock_timeout}
        manager = self._open(seats, options)
        self._managers.append(manager)
        return manager

    @abstractmethod
    def _open(self, seats: Iterable[Seat | SeatId], options: dict[str, Any]) -> SeatManager:
        """Open a manager with ``options`` passed on to ``SeatManager``."""

    @abstractmethod
    def now(self) -> float:
        """The store's time now, in the clock its deadlines use."""

    @abstractmethod
    def advance(self, seconds: float) -> None:
        """Move the store's time forward by ``seconds`` (safe to call from any thread)."""

    def close(self) -> None:
        """Close every manager this venue opened."""
        for manager in self._managers:
            manager.close()


class FakeClock:
    """A monotonic clock that only moves when told to; thread-safe."""

    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self._mutex = threading.Lock()

    def __call__(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        with self._mutex:
            self._now += seconds


class ClockVenue(Venue):
    """A store that takes ``clock=``: one store object and one fake clock per test."""

    def __init__(self, event: str, store: Store) -> None:
        super().__init__(event)
        self._store = store
        self._clock = FakeClock()

    def _open(self, seats: Iterable[Seat | SeatId], options: dict[str, Any]) -> SeatManager:
        return SeatManager(seats, store=self._store, event=self.event, clock=self._clock, **options)

    def now(self) -> float:
        return self._clock()

    def advance(self, seconds: float) -> None:
        self._clock.advance(seconds)

    def close(self) -> None:
        super().close()
        self._store.close()


class MemoryVenue(ClockVenue):
    """The in-process store, on one ``engine``: ``"c"`` (its compiled operations) or
    ``"python"``. Without the C engine built, its tests skip (fail under ``CI=true``)."""

    def __init__(self, event: str, engine: str = "c") -> None:
        from seatlock.stores.memory import MemoryStore

        need_memory_engine(engine)
        super().__init__(event, MemoryStore(engine))
        self.engine = engine


class SQLiteVenue(ClockVenue):
    """The embedded store: a new file in a temporary folder for each test."""

    def __init__(self, event: str) -> None:
        from seatlock.stores.sqlite import SQLiteStore

        self._folder = tempfile.TemporaryDirectory()
        path = Path(self._folder.name) / "seats.db"
        super().__init__(event, SQLiteStore(path))
        self.url = f"sqlite:///{path}"

    def close(self) -> None:
        super().close()
        self._folder.cleanup()


S = TypeVar("S", "RedisStore", "PostgresStore")
"""A server store whose clock a test freezes, then moves by its ``time_offset``."""


class ServerClockVenue(Venue, Generic[S]):
    """A server store: one store object per test, its clock frozen at the server's time
    and moved only by its ``time_offset``. A subclass opens the store and passes it to
    :meth:`_freeze`; it deletes the event's data at teardown."""

    _store: S

    def __init__(self, event: str) -> None:
        super().__init__(event)
        self._mutex = threading.Lock()

    def _freeze(self, store: S) -> None:
        """Use ``store``, its clock frozen at the server's time now."""
        self._store = store
        self._start = store.freeze_time()

    def _open(self, seats: Iterable[Seat | SeatId], options: dict[str, Any]) -> SeatManager:
        return SeatManager(seats, store=self._store, event=self.event, **options)

    def now(self) -> float:
        return self._start + self._store.time_offset

    def advance(self, seconds: float) -> None:
        with self._mutex:
            self._store.time_offset += seconds


class RedisVenue(ServerClockVenue["RedisStore"]):
    """A Redis store (``url``: one server or, ``redis+cluster://``, a cluster): one store
    object per test, its clock frozen at the server's time and moved only by its
    ``time_offset``; the event's keys are deleted at teardown."""

    def __init__(self, event: str, url: str = REDIS_URL) -> None:
        from seatlock import NotPerformedError
        from seatlock.stores.redis import RedisStore, event_keys

        super().__init__(event)
        self.url = url
        self._keys = event_keys(event)
        try:
            self._freeze(open_redis(url, RedisStore))
        except NotPerformedError as exc:
            unavailable(f"no Redis at {url}: {exc}")

    def close(self) -> None:
        super().close()
        self._store.client.delete(*self._keys)
        self._store.close()


class PostgresVenue(ServerClockVenue["PostgresStore"]):
    """The PostgreSQL store at ``POSTGRES_URL`` (its default schema): one store object per
    test, its clock frozen at the server's time and moved only by its ``time_offset``; the
    event's rows are deleted at teardown."""

    url = POSTGRES_URL

    def __init__(self, event: str) -> None:
        from seatlock import NotPerformedError
        from seatlock.stores.postgres import PostgresStore

        super().__init__(event)
        try:
            # Idle connections close soon: a test's venues stay open until it ends.
            self._freeze(PostgresStore(POSTGRES_URL, max_idle=0.2))
        except (ImportError, NotPerformedError) as exc:
            unavailable(f"no PostgreSQL at {POSTGRES_URL}: {exc}")

    def close(self) -> None:
        import psycopg

        super().close()
        self._store.close()
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            for table in ("seats", "events"):
                conn.execute(
                    f"DELETE FROM {self._store.schema}.{table} WHERE event = %s",
                    (self.event.encode(),),
                )


Snapshot = tuple[tuple[SeatStatus, ...], dict[SeatState, int], tuple[tuple[SeatId, ...], ...]]


def snapshot(manager: SeatManager, seat_ids: Iterable[SeatId]) -> Snapshot:
    """Everything the read side says about the event: to compare before and after a call."""
    by_state = tuple(tuple(manager.seat_ids(state)) for state in (None, *SeatState))
    return tuple(manager.seat_status(s) for s in seat_ids), manager.counts(), by_state


def run_together(count: int, body: Callable[[int], None]) -> None:
    """Run ``body(0)`` … ``body(count - 1)`` in threads released at once; fail with every
    exception they raised."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait()
            body(index)
        except BaseException as exc:  # pragma: no cover (reported below)
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
