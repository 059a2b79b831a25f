"""PostgreSQL-only behaviour: the schema, one round trip per call, faults, processes."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pytest

from seatlock import (
    NotPerformedError,
    OutcomeUnknownError,
    SeatlockError,
    SeatManager,
    SeatState,
    StoreError,
)
from seatlock.stores import open_store
from seatlock.stores.postgres import CLEANUP_BATCH, SCHEMA_VERSION, PostgresStore

from ..services import POSTGRES_URL, free_port, unavailable
from .processes import kill_mid_bulk

if TYPE_CHECKING:
    import psycopg

Connect = Callable[[], "psycopg.Connection[Any]"]


@pytest.fixture
def driver() -> None:
    """psycopg and psycopg_pool, or the test is skipped (fails under CI=true)."""
    try:
        import psycopg_pool  # noqa: F401
    except ImportError as exc:
        unavailable(f"the PostgreSQL driver is not installed: {exc}")


@pytest.fixture
def connect(driver: None) -> Iterator[Connect]:
    """Opens autocommit connections to the test server; closes them at teardown."""
    import psycopg

    opened: list[psycopg.Connection[Any]] = []

    def connect_() -> psycopg.Connection[Any]:
        conn = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=3)
        opened.append(conn)
        return conn

    try:
        connect_()
    except psycopg.OperationalError as exc:
        unavailable(f"no PostgreSQL at {POSTGRES_URL}: {exc}")
    yield connect_
    for conn in opened:
        conn.close()


@pytest.fixture
def schema(connect: Connect) -> Iterator[str]:
    """A schema name of this test's own, dropped at teardown."""
    name = f"seatlock_t{uuid.uuid4().hex[:12]}"
    yield name
    connect().execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


@pytest.fixture
def event(connect: Connect) -> Iterator[str]:
    """An event name of this test's own in the default schema; its rows go at teardown."""
    name = f"test-{uuid.uuid4().hex}"
    yield name
    conn = connect()
    if conn.execute("SELECT to_regclass('seatlock.seats')").fetchone() != (None,):
        for table in ("seats", "events"):
            conn.execute(f"DELETE FROM seatlock.{table} WHERE event = %s", (name.encode(),))


OpenStore = Callable[..., PostgresStore]


@pytest.fixture
def store_in(schema: str) -> Iterator[OpenStore]:
    """Opens stores (options as ``PostgresStore`` takes them) on this test's schema."""
    stores: list[PostgresStore] = []

    def open_(**options: Any) -> PostgresStore:
        stores.append(PostgresStore(POSTGRES_URL, schema=schema, **options))
        return stores[-1]

    yield open_
    for store in stores:
        store.close()


# -- opening ---------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_both_schemes_open_the_store(scheme: str, event: str) -> None:
    url = POSTGRES_URL.replace("postgresql://", f"{scheme}://", 1)
    with SeatManager([1], store=url, event=event) as manager:
        assert manager.lock_seat(1, "ann")
    store = open_store(url)
    assert isinstance(store, PostgresStore)
    store.close()


@pytest.mark.usefixtures("driver")
def test_a_clock_is_refused() -> None:
    store = PostgresStore(POSTGRES_URL)
    with pytest.raises(ValueError, match="takes time from its server"):
        SeatManager([1], store=store, clock=lambda: 0.0)


@pytest.mark.usefixtures("driver")
def test_nothing_connects_before_first_use() -> None:
    PostgresStore(f"postgresql://postgres@127.0.0.1:{free_port()}/test").close()


@pytest.mark.parametrize("module", ["psycopg", "psycopg_pool"])
def test_a_missing_driver_names_the_extra(module: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(ImportError) as caught:
        PostgresStore(POSTGRES_URL)
    assert str(caught.value) == (
        "The 'postgresql' store needs psycopg: pip install 'seatlock[postgres]'"
    )
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_importing_seatlock_imports_no_driver() -> None:
    code = (
        "import sys, seatlock, seatlock.stores.postgres; "
        "assert not {'psycopg', 'psycopg_pool'} & set(sys.modules), sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# -- the schema ------------------------------------------------------------------------


def test_first_use_creates_the_versioned_schema(
    store_in: OpenStore, schema: str, connect: Connect
) -> None:
    with SeatManager(["a", 1], store=store_in(), event="e") as manager:
        assert manager.lock_seat(1, "ann")
    conn = connect()
    assert conn.execute(f"SELECT version FROM {schema}.version").fetchall() == [(SCHEMA_VERSION,)]
    tables = conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s ORDER BY 1",
        (schema,),
    ).fetchall()
    assert tables == [("events",), ("seats",), ("version",)]
    stored = conn.execute(f"SELECT seat, state, holder FROM {schema}.seats ORDER BY added")
    assert stored.fetchall() == [(b"s:a", 0, None), (b"i:1", 1, b"s:ann")]


def test_stores_racing_to_create_the_schema_all_succeed(store_in: OpenStore) -> None:
    stores = [store_in() for _ in range(6)]
    barrier = threading.Barrier(len(stores))
    errors: list[BaseException] = []

    def open_(store: PostgresStore) -> None:
        barrier.wait()
        try:
            SeatManager(range(10), store=store, event="e").close()
        except BaseException as exc:  # pragma: no cover (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=open_, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    with SeatManager([], store=store_in(), event="e") as manager:
        assert manager.seat_ids() == list(range(10))


def test_another_schema_version_is_refused(
    store_in: OpenStore, schema: str, connect: Connect
) -> None:
    store_in().freeze_time()
    connect().execute(f"UPDATE {schema}.version SET version = 99")
    store = store_in()
    with pytest.raises(SeatlockError, match=r"schema version 99.*knows version 1"):
        SeatManager([1], store=store)


def test_events_in_one_schema_are_separate(store_in: OpenStore) -> None:
    store = store_in()
    with (
        SeatManager([1], store=store, event="a") as a,
        SeatManager([1], store=store, event="b") as b,
    ):
        assert a.lock_seat(1, "ann")
        assert b.lock_seat(1, "bob")
        assert a.seat_status(1).holder == "ann"


def add_one_seat(
    store: PostgresStore, event: str, seat: int | str, start: threading.Barrier, out: list[str]
) -> None:
    """Add ``seat`` to ``event`` once ``start`` lets go; record "added" or "refused"."""
    start.wait()
    try:
        SeatManager([seat], store=store, event=event).close()
        out.append("added")
    except ValueError:
        out.append("refused")


def test_calls_adding_twins_at_once_never_both_succeed(store_in: OpenStore) -> None:
    store = store_in(max_size=2)
    for round_ in range(10):
        event, start = f"e{round_}", threading.Barrier(2)
        outcomes: list[str] = []
        threads = [
            threading.Thread(target=add_one_seat, args=(store, event, seat, start, outcomes))
            for seat in (7, "7")
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes) == ["added", "refused"]
        with SeatManager([], store=store, event=event) as manager:
            assert len(manager.seat_ids()) == 1


# -- one round trip --------------------------------------------------------------------


def test_every_operation_is_one_round_trip(store_in: OpenStore) -> None:
    from psycopg import pq

    store = store_in(min_size=1, max_size=1)
    manager = SeatManager(range(40), lock_timeout=30, store=store, event="e")
    calls: dict[str, Callable[[int], object]] = {
        "lock_seat": lambda i: manager.lock_seat(i, "ann"),
        "book_a_seat": lambda i: manager.book_a_seat(i, "ann"),
        "cancel_lock": lambda i: manager.cancel_lock(i, "ann"),
        "lock_seats_bulk": lambda i: manager.lock_seats_bulk([i, i + 1], "ann"),
        "book_seats_bulk": lambda i: manager.book_seats_bulk([i, i + 1], "ann"),
        "cancel_locks_bulk": lambda i: manager.cancel_locks_bulk([i, i + 1], "ann"),
        "cleanup_expired_locks": lambda i: manager.cleanup_expired_locks(),
        "seat_status": manager.seat_status,
        "seat_ids": lambda i: manager.seat_ids("LOCKED"),
        "counts": lambda i: manager.counts(),
        "add_seats": lambda i: manager.add_seats([100 + i]),
    }
    for i in range(8):  # past psycopg's prepare threshold: steady state from here
        for call in calls.values():
            call(i)
    pool = store._pool
    assert pool is not None
    for name, call in calls.items():
        with tempfile.TemporaryFile("w+") as trace:
            conn = pool.getconn()  # the pool's one connection: the call will use it
            conn.pgconn.trace(trace.fileno())
            conn.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
            pool.putconn(conn)
            call(20)
            conn = pool.getconn()
            conn.pgconn.untrace()  # flushes the trace
            pool.putconn(conn)
            trace.seek(0)
            messages = [line.split("\t") for line in trace.read().splitlines()]
        kinds = [fields[0] + fields[2] for fields in messages]
        assert kinds.count("FSync") + kinds.count("FQuery") == 1, (name, kinds)
        assert kinds.count("BReadyForQuery") == 1, (name, kinds)
    manager.close()


# -- cleanup ---------------------------------------------------------------------------


@contextmanager
def frozen_manager(store: PostgresStore, seats: Iterable[int]) -> Iterator[SeatManager]:
    """A manager of ``seats`` with 5 s locks on the event "e", the store's time frozen."""
    with SeatManager(seats, lock_timeout=5, store=store, event="e") as manager:
        store.freeze_time()
        yield manager


def test_cleanup_releases_in_batches_and_counts_exactly(store_in: OpenStore) -> None:
    store = store_in()
    n = 2 * CLEANUP_BATCH + 7
    with frozen_manager(store, range(n + 3)) as manager:
        for start in range(0, n, 500):
            assert manager.lock_seats_bulk(list(range(start, min(start + 500, n))), "ann")
        store.time_offset += 3
        assert manager.lock_seats_bulk([n, n + 1, n + 2], "bob")
        store.time_offset += 2
        assert manager.cleanup_expired_locks() == n
        assert manager.cleanup_expired_locks() == 0
        assert manager.counts()[SeatState.LOCKED] == 3


def test_cleanup_skips_a_row_another_call_holds(
    store_in: OpenStore, schema: str, connect: Connect
) -> None:
    store = store_in()
    with frozen_manager(store, range(5)) as manager:
        assert manager.lock_seats_bulk([0, 1, 2, 3], "ann")
        store.time_offset += 5
        blocker = connect()
        with blocker.transaction():
            blocker.execute(f"SELECT 1 FROM {schema}.seats WHERE seat = %s FOR UPDATE", (b"i:2",))
            assert manager.cleanup_expired_locks() == 3  # did not wait for seat 2
        assert manager.cleanup_expired_locks() == 1


def test_cleanup_reads_the_expired_locks_by_index(
    store_in: OpenStore, schema: str, connect: Connect
) -> None:
    store = store_in()
    with frozen_manager(store, range(20_000)) as manager:
        assert manager.lock_seats_bulk(list(range(10)), "ann")
    conn = connect()
    conn.execute(f"ANALYZE {schema}.seats")
    try:
        conn.execute("LOAD 'auto_explain'")
    except Exception as exc:  # pragma: no cover (a server without contrib)
        unavailable(f"auto_explain is not installed: {exc}")
    for name, value in [
        ("auto_explain.log_min_duration", "0"),
        ("auto_explain.log_nested_statements", "on"),
        ("auto_explain.log_level", "notice"),
        ("client_min_messages", "notice"),
        ("plan_cache_mode", "force_generic_plan"),
    ]:
        conn.execute("SELECT set_config(%s, %s, false)", (name, value))
    plans: list[str] = []
    conn.add_notice_handler(lambda diag: plans.append(diag.message_primary or ""))
    assert store.frozen_time is not None
    args = (b"e", CLEANUP_BATCH, store.frozen_time + 5, 0.0)
    for _ in range(6):  # past the plan cache's custom plans
        assert conn.execute(f"CALL {schema}.cleanup(%s, %s, %s, %s, NULL)", args).fetchone()
    batch = [p for p in plans if "UPDATE" in p and "FOR UPDATE SKIP LOCKED" in p]
    assert batch
    assert "seats_due" in batch[-1], batch[-1]
    assert "Seq Scan" not in batch[-1], batch[-1]


def test_deadlines_are_set_on_the_servers_clock(store_in: OpenStore, connect: Connect) -> None:
    """A lock's deadline is the server's ``clock_timestamp()`` plus the timeout (a client
    clock set apart from the server's would land outside these bounds)."""
    manager = SeatManager([1], lock_timeout=30, store=store_in(), event="e")
    conn = connect()

    def server_now() -> float:
        row = conn.execute("SELECT extract(epoch FROM clock_timestamp())::float8").fetchone()
        assert row is not None
        now: float = row[0]
        return now

    before = server_now()
    deadline = manager.lock_seat(1, "ann").deadline
    after = server_now()
    assert deadline is not None
    assert before + 30 <= deadline <= after + 30


# -- faults ----------------------------------------------------------------------------


@pytest.mark.usefixtures("driver")
def test_an_unreachable_server_surely_did_nothing() -> None:
    store = PostgresStore(f"postgresql://postgres@127.0.0.1:{free_port()}/test", timeout=1)
    with pytest.raises(NotPerformedError, match="did not perform"):
        SeatManager([1], store=store)
    store.close()


def hold_row(conn: psycopg.Connection[Any], schema: str, seat: bytes) -> None:
    """Lock one seat's row in an open transaction of ``conn``."""
    conn.execute("BEGIN")
    conn.execute(f"SELECT 1 FROM {schema}.seats WHERE seat = %s FOR UPDATE", (seat,))


def test_a_statement_timeout_surely_did_nothing(
    store_in: OpenStore, schema: str, connect: Connect
) -> None:
    store = store_in(statement_timeout=0.2)
    with SeatManager([1, 2], store=store, event="e") as manager:
        blocker = connect()
        hold_row(blocker, schema, b"i:2")
        with pytest.raises(NotPerformedError, match="statement timeout"):
            manager.lock_seats_bulk([1, 2], "ann")
        blocker.execute("ROLLBACK")
        assert manager.counts()[SeatState.AVAILABLE] == 2
        assert manager.lock_seats_bulk([1, 2], "ann")


def backend_of(store: PostgresStore) -> int:
    """The process id of the one pooled connection of ``store``."""
    assert store._pool is not None
    with store._pool.connection() as conn:
        pid: int = conn.info.backend_pid
        return pid


def wait_for_backend(conn: psycopg.Connection[Any], pid: int, row: tuple[str] | None) -> None:
    """Poll until backend ``pid``'s ``(wait_event_type,)`` is ``row`` (None: it is gone)."""
    for _ in range(500):
        query = "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s"
        if conn.execute(query, (pid,)).fetchone() == row:
            return
        time.sleep(0.01)
    raise AssertionError(f"backend {pid} never reached {row}")


@pytest.mark.parametrize("bulk", [False, True])
def test_a_backend_killed_mid_call_is_a_clear_error_and_nothing_half_done(
    store_in: OpenStore, bulk: bool, schema: str, connect: Connect
) -> None:
    store = store_in(min_size=1, max_size=1)
    with SeatManager([1, 2, 3], store=store, event="e") as manager:
        pid = backend_of(store)
        blocker, killer = connect(), connect()
        hold_row(blocker, schema, b"i:3")
        caught: list[BaseException] = []

        def call() -> None:
            try:
                if bulk:
                    manager.lock_seats_bulk([1, 2, 3], "ann")
                else:
                    manager.lock_seat(3, "ann")
            except BaseException as exc:
                caught.append(exc)

        thread = threading.Thread(target=call)
        thread.start()
        wait_for_backend(killer, pid, ("Lock",))
        killer.execute("SELECT pg_terminate_backend(%s)", (pid,))
        thread.join()
        blocker.execute("ROLLBACK")
        assert len(caught) == 1
        assert isinstance(caught[0], OutcomeUnknownError), caught
        assert isinstance(caught[0], StoreError)
        assert "may or may not" in str(caught[0])
        # the aborted call left nothing; the store goes on with a new connection
        assert manager.counts() == {
            SeatState.AVAILABLE: 3,
            SeatState.LOCKED: 0,
            SeatState.BOOKED: 0,
        }
        assert manager.lock_seats_bulk([1, 2, 3], "ann")
        assert backend_of(store) != pid


def test_a_connection_the_server_closed_while_idle_is_replaced(
    store_in: OpenStore, connect: Connect
) -> None:
    store = store_in(min_size=1, max_size=1)
    with SeatManager([1], store=store, event="e") as manager:
        pid = backend_of(store)
        killer = connect()
        killer.execute("SELECT pg_terminate_backend(%s)", (pid,))
        wait_for_backend(killer, pid, None)
        assert manager.lock_seat(1, "ann")  # nothing was sent on the dead connection
        assert backend_of(store) != pid


# -- processes -------------------------------------------------------------------------


def test_sigkill_mid_bulk_leaves_no_partial_group(event: str) -> None:
    assert kill_mid_bulk(POSTGRES_URL, event) > 0


def test_state_outlives_the_store_object(event: str) -> None:
    with SeatManager(range(3), store=POSTGRES_URL, event=event) as first:
        assert first.lock_seats_bulk([0, 1], "ann")
        assert first.book_seats_bulk([0, 1], "ann")
    with SeatManager(range(5), store=POSTGRES_URL, event=event) as again:
        assert again.seat_status(0).state is SeatState.BOOKED
        assert again.seat_ids() == [0, 1, 2, 3, 4]
