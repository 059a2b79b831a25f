"""Redis-only behaviour: round trips, keys, time, failures, processes.

Tests that take the ``url`` fixture run on the shared server (``REDIS_URL``) and on the
test run's own Redis Cluster; failure tests start a ``redis-server`` of their own, to
kill, pause and restart it. Every test uses new events and deletes their keys.
"""

from __future__ import annotations

import math
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest

from seatlock import (
    NotPerformedError,
    OutcomeUnknownError,
    Reason,
    SeatlockError,
    SeatManager,
    SeatState,
    UnknownSeatError,
)
from seatlock.stores.codec import REASON_CODES
from seatlock.stores.redis import CLEANUP_BATCH, LAYOUT, RedisStore, event_keys

from ..redis_servers import RedisServer, open_redis
from ..services import REDIS_URL, unavailable
from .processes import kill_mid_bulk

FAST = "socket_timeout=0.5&socket_connect_timeout=0.5"
"""URL options that make a dead or stopped server fail fast."""


def new_event() -> str:
    return f"test-{uuid.uuid4().hex}"


def drop(store: RedisStore, *events: str) -> None:
    """Delete the keys of ``events`` (one slot each, so one DEL per event)."""
    for event in events:
        store.client.delete(*event_keys(event))


def drop_at(url: str, event: str) -> None:
    """Delete the keys of ``event`` in the store at ``url``."""
    store = open_redis(url, RedisStore)
    drop(store, event)
    store.close()


@pytest.fixture(params=["redis", "redis-cluster"])
def url(request: pytest.FixtureRequest) -> str:
    """The shared Redis server, then the test run's own cluster."""
    if request.param == "redis-cluster":
        cluster: str = request.getfixturevalue("redis_cluster_url")
        return cluster
    from redis.exceptions import ConnectionError as DriverConnectionError

    store = RedisStore(REDIS_URL)
    try:
        store.client.ping()
    except DriverConnectionError as exc:
        unavailable(f"no Redis at {REDIS_URL}: {exc}")
    finally:
        store.close()
    return REDIS_URL


@pytest.fixture
def store(url: str) -> Iterator[RedisStore]:
    """A store on ``url``."""
    opened = open_redis(url, RedisStore)
    yield opened
    opened.close()


@pytest.fixture
def event(store: RedisStore) -> Iterator[str]:
    """A new event name; its keys are deleted at teardown."""
    name = new_event()
    yield name
    drop(store, name)


class Counter:
    """Counts the commands a redis-py client sends (wraps ``execute_command``)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, client: Any) -> None:
        self.names: list[str] = []
        send = client.execute_command

        def counted(*args: Any, **options: Any) -> Any:
            self.names.append(str(args[0]))
            return send(*args, **options)

        monkeypatch.setattr(client, "execute_command", counted)

    def take(self) -> list[str]:
        names, self.names = self.names, []
        return names


# -- the driver ------------------------------------------------------------------------


MISSING_DRIVER = """
import sys
sys.modules["redis"] = None  # import redis raises ImportError
from seatlock.stores import open_store
for url in ("redis://127.0.0.1:6379/0", "redis+cluster://127.0.0.1:7000"):
    try:
        open_store(url)
    except ImportError as exc:
        assert exc.__suppress_context__, "raised without 'from None'"
        print(exc)
"""


def test_a_missing_driver_says_how_to_install_it() -> None:
    run = subprocess.run(
        [sys.executable, "-c", MISSING_DRIVER], capture_output=True, text=True, check=True
    )
    message = "The 'redis' store needs redis-py: pip install 'seatlock[redis]'"
    assert run.stdout.splitlines() == [message, message]


def test_the_scripts_reason_codes_are_the_codecs() -> None:
    lib = (files("seatlock.stores") / "lua" / "_lib.lua").read_text(encoding="utf-8")
    names = ("UNKNOWN", "IS_BOOKED", "HELD_BY_OTHER", "HELD_BY_YOU", "NOT_LOCKED")
    codes = (1, 2, 3, 4, 5)
    assert f"local {', '.join(names)} = {', '.join(map(str, codes))}" in lib
    expected = (
        Reason.UNKNOWN_SEAT,
        Reason.ALREADY_BOOKED,
        Reason.HELD_BY_OTHER,
        Reason.HELD_BY_YOU,
        Reason.NOT_LOCKED,
    )
    assert tuple(REASON_CODES[c] for c in codes) == expected


# -- one round trip, keys, layout ----------------------------------------------------


def test_every_operation_is_one_round_trip(
    store: RedisStore, event: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    manager = SeatManager(range(12), lock_timeout=5, store=store, event=event)
    calls: list[Callable[[], object]] = [
        lambda: manager.lock_seat(0, "ann"),
        lambda: manager.lock_seat(0, "bob"),
        lambda: manager.lock_seats_bulk([1, 2, 3], "ann"),
        lambda: manager.lock_seats_bulk([3, 4, 5], "bob"),
        lambda: manager.book_a_seat(0, "ann"),
        lambda: manager.book_seats_bulk([1, 2], "ann"),
        lambda: manager.book_seats_bulk([3, 9], "ann"),
        lambda: manager.cancel_lock(3, "ann"),
        lambda: manager.lock_seats_bulk([6, 7], "cat"),
        lambda: manager.cancel_locks_bulk([6, 7], "cat"),
        manager.cleanup_expired_locks,
        lambda: manager.seat_status(1),
        manager.seat_ids,
        lambda: manager.seat_ids(SeatState.LOCKED),
        manager.counts,
        lambda: manager.add_seats([10, 11]),
    ]
    for call in calls:  # the first time, a server may lack the script (EVALSHA, EVAL)
        call()
    counter = Counter(monkeypatch, store.client)
    for call in calls:
        call()
        assert counter.take() == ["EVALSHA"]


def test_cleanup_frees_expired_locks_in_bounded_batches(
    store: RedisStore, event: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seats = 2 * CLEANUP_BATCH + 10
    manager = SeatManager(range(seats), lock_timeout=1, store=store, event=event)
    assert manager.cleanup_expired_locks() == 0  # (the server has the script from now on)
    for start in range(0, seats, 500):
        assert manager.lock_seats_bulk(list(range(start, min(start + 500, seats))), "ann")
    store.time_offset = 1
    counter = Counter(monkeypatch, store.client)
    assert manager.cleanup_expired_locks() == seats
    assert len(counter.take()) == 3  # two full batches, then the rest
    assert manager.cleanup_expired_locks() == 0
    assert manager.counts()[SeatState.AVAILABLE] == seats


def test_bulk_calls_larger_than_a_script_chunk(store: RedisStore, event: str) -> None:
    seats = list(range(2500))
    manager = SeatManager(seats, store=store, event=event)
    assert manager.lock_seats_bulk(seats[1200:], "bob")
    failed = manager.lock_seats_bulk(seats[::-1], "ann")
    assert [c.seat_id for c in failed.conflicts] == seats[:1199:-1]
    assert {(c.reason, c.holder) for c in failed.conflicts} == {(Reason.HELD_BY_OTHER, "bob")}
    assert manager.lock_seats_bulk(seats[:1200], "ann")
    assert manager.book_seats_bulk(seats[:1200], "ann")
    assert manager.cancel_locks_bulk(seats[1200:], "bob")
    assert manager.counts() == {
        SeatState.AVAILABLE: 1300,
        SeatState.LOCKED: 0,
        SeatState.BOOKED: 1200,
    }
    assert manager.seat_ids(SeatState.BOOKED) == seats[:1200]


@pytest.mark.parametrize("name", ["plain", "a}b{c", "{x}", "}", "%7D", "tag:{with}:colons"])
def test_an_events_keys_share_one_slot_and_never_expire(store: RedisStore, name: str) -> None:
    from redis.crc import key_slot

    event = f"{name}-{uuid.uuid4().hex}"
    try:
        manager = SeatManager([1, 2, 3], lock_timeout=5, store=store, event=event)
        assert manager.lock_seats_bulk([1, 2], "ann")
        assert manager.book_a_seat(1, "ann")
        keys = event_keys(event)
        assert len({key_slot(k.encode()) for k in keys}) == 1
        assert store.client.exists(*keys) == 3
        assert [store.client.ttl(k) for k in keys] == [-1] * 3
    finally:
        drop(store, event)


def test_events_whose_names_escape_alike_stay_apart(store: RedisStore) -> None:
    suffix = uuid.uuid4().hex
    first, second = f"a}}{suffix}", f"a%7D{suffix}"
    try:
        a = SeatManager([1], store=store, event=first)
        b = SeatManager([1], store=store, event=second)
        assert a.lock_seat(1, "ann")
        assert b.lock_seat(1, "bob")
        assert a.seat_status(1).holder == "ann"
        assert b.seat_status(1).holder == "bob"
    finally:
        drop(store, first, second)


def test_a_newer_layout_is_refused(store: RedisStore, event: str) -> None:
    manager = SeatManager([1], store=store, event=event)
    seats = event_keys(event)[0]
    assert store.client.hget(seats, "#layout") == LAYOUT
    store.client.hset(seats, "#layout", "99")
    with pytest.raises(SeatlockError, match="layout 99"):
        manager.lock_seat(1, "ann")
    with pytest.raises(SeatlockError, match="layout 99"):
        SeatManager([1], store=store, event=event)
    assert store.client.hget(seats, "i:1") == "F"


# -- time ------------------------------------------------------------------------------


def test_time_is_the_servers_never_this_hosts(
    store: RedisStore, event: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ValueError, match="clock"):
        SeatManager([1], store=store, event=event, clock=time.monotonic)
    manager = SeatManager([1, 2], lock_timeout=30, store=store, event=event)
    seconds, micros = store.client.time()
    server_now = seconds + micros / 1e6
    monkeypatch.setattr(time, "time", lambda: 0.0)
    monkeypatch.setattr(time, "monotonic", lambda: 0.0)
    result = manager.lock_seat(1, "ann")
    assert result.deadline is not None
    assert server_now + 30 <= result.deadline < server_now + 35
    status = manager.seat_status(1)
    assert status.time_left is not None
    assert 25 < status.time_left <= 30


def test_the_time_offset_expires_locks_without_sleeping(store: RedisStore, event: str) -> None:
    manager = SeatManager([1, 2], lock_timeout=60, store=store, event=event)
    assert manager.lock_seats_bulk([1, 2], "ann")
    store.time_offset = 59
    assert manager.seat_status(1).state is SeatState.LOCKED
    store.time_offset = 60.001
    assert manager.seat_status(1).state is SeatState.AVAILABLE
    assert manager.cleanup_expired_locks() == 2


def test_an_events_time_never_goes_back(store: RedisStore, event: str) -> None:
    """A clock step back (here: the offset taken away) cannot stretch a lock."""
    manager = SeatManager([1, 2], lock_timeout=10, store=store, event=event)
    store.time_offset = 1000
    assert manager.lock_seat(1, "ann")
    store.time_offset = 0
    left = manager.seat_status(1).time_left
    assert left is not None
    assert 9 < left <= 10
    assert manager.lock_seat(2, "bob").deadline == pytest.approx(
        manager.seat_status(1).deadline, abs=1
    )


def server_now(store: RedisStore) -> float:
    seconds, micros = store.client.time()
    return seconds + micros / 1e6


def test_deadlines_are_set_on_the_servers_clock(store: RedisStore, event: str) -> None:
    """Without testing aids a lock's deadline is the server's ``TIME`` plus the timeout
    (a client clock set apart from the server's would land outside these bounds)."""
    manager = SeatManager([1], lock_timeout=30, store=store, event=event)
    before = server_now(store)
    deadline = manager.lock_seat(1, "ann").deadline
    after = server_now(store)
    assert deadline is not None
    assert before + 30 <= deadline <= after + 30
    assert manager.lock_seat(1, "bob").reason is Reason.HELD_BY_OTHER


# -- failures (a server of the test's own) -------------------------------------------


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test's own, without persistence."""
    own = RedisServer(tmp_path / "redis").start()
    yield own
    own.stop()


def test_a_dead_server_is_not_performed_and_a_restart_loses_a_volatile_event(
    server: RedisServer,
) -> None:
    with SeatManager([1, 2], store=f"{server.url}?{FAST}", event="show") as manager:
        assert manager.lock_seat(1, "ann")
        assert manager.book_a_seat(1, "ann")
        server.kill()
        with pytest.raises(NotPerformedError) as caught:
            manager.lock_seat(2, "ann")
        assert type(caught.value.__cause__).__module__.startswith("redis")
        with pytest.raises(NotPerformedError):
            manager.seat_status(1)
        server.start()  # no persistence: the server starts empty (module docs)
        with pytest.raises(UnknownSeatError):
            manager.seat_status(1)
        assert manager.lock_seat(2, "ann") == "Seat 2 does not exist"
        manager.add_seats([1, 2])  # the same manager (and pool) carries on
        assert manager.lock_seat(2, "ann")
        assert manager.seat_ids(SeatState.LOCKED) == [2]


def test_with_an_always_synced_aof_a_confirmed_booking_survives_a_kill(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "aof", "--appendonly", "yes", "--appendfsync", "always")
    server.start()
    try:
        with SeatManager([1, 2, 3], store=f"{server.url}?{FAST}", event="show") as manager:
            locked = manager.lock_seats_bulk([1, 2], "ann")
            assert manager.book_seats_bulk([1, 2], "ann")
            server.kill()
            server.start()
            assert manager.seat_ids(SeatState.BOOKED) == [1, 2]
            assert manager.seat_status(2).holder == "ann"
            again = manager.lock_seat(3, "bob")
            assert again.token is not None
            assert locked.token is not None
            assert again.token > locked.token
    finally:
        server.stop()


def test_a_reply_lost_after_the_script_was_sent_is_outcome_unknown(server: RedisServer) -> None:
    with SeatManager([1, 2], store=f"{server.url}?{FAST}", event="show") as manager:
        assert manager.lock_seat(2, "bob")  # a pooled connection; the script is loaded
        server.pause()
        try:
            with pytest.raises(OutcomeUnknownError) as caught:
                manager.lock_seat(1, "ann")
            assert "may or may not" in str(caught.value)
        finally:
            server.resume()
        status = manager.seat_status(1)  # the script ran once the server woke up
        assert (status.state, status.holder) == (SeatState.LOCKED, "ann")
        assert manager.lock_seat(1, "ann").reason is Reason.HELD_BY_YOU


def test_a_connection_that_cannot_be_made_is_not_performed(server: RedisServer) -> None:
    with SeatManager([1], store=f"{server.url}?{FAST}", event="show") as manager:
        server.pause()  # the kernel accepts the connection; the handshake gets no reply
        try:
            fresh = RedisStore(f"{server.url}?{FAST}")
            with pytest.raises(NotPerformedError):
                fresh.open_event("show", 10, None).lock(1, "ann")
            fresh.close()
        finally:
            server.resume()
        assert manager.seat_status(1).state is SeatState.AVAILABLE


def test_scripts_flushed_from_the_server_are_loaded_again(server: RedisServer) -> None:
    with SeatManager([1, 2], store=server.url, event="show") as manager:
        assert manager.lock_seat(1, "ann")
        assert server.command("SCRIPT", "FLUSH") == "+OK\r\n"
        assert manager.lock_seat(2, "ann")
        assert manager.seat_ids(SeatState.LOCKED) == [1, 2]


# -- processes -------------------------------------------------------------------------


def test_sigkill_mid_bulk_leaves_no_partial_group(url: str) -> None:
    event = new_event()
    try:
        assert kill_mid_bulk(url, event) > 0
    finally:
        drop_at(url, event)


def test_deadlines_are_exact_text(store: RedisStore, event: str) -> None:
    manager = SeatManager([1], lock_timeout=math.pi, store=store, event=event)
    store.freeze_time()
    result = manager.lock_seat(1, "ann")
    assert store.frozen_time is not None
    assert result.deadline == store.frozen_time + math.pi
    assert manager.seat_status(1).deadline == result.deadline
