"""SeatManager's keyword options (SPEC §7): the default and ``memory://`` stores are private
to their manager, time comes from ``clock`` (``time.monotonic`` by default), and bad
options raise naming the bad value."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from seatlock import SeatManager, SeatState, UnknownStoreError

from .services import need_memory_engine


@pytest.mark.parametrize("store", [None, "memory://", "memory://?engine=python"])
def test_memory_managers_never_share(store: str | None) -> None:
    first = SeatManager([1, 2], store=store, event="show")
    second = SeatManager([1, 2], store=store, event="show")
    assert first.lock_seat(1, "alice")
    assert second.seat_status(1).state is SeatState.AVAILABLE
    assert second.lock_seat(1, "bob")
    assert first.seat_status(1).holder == "alice"
    second.add_seats([3])
    assert first.seat_ids() == [1, 2]


@pytest.mark.parametrize("engine", ["c", "python"])
def test_default_clock_is_monotonic(engine: str) -> None:
    # The C engine reads the clock itself: it must read what time.monotonic() reads, as
    # the reads (seat_status, cleanup) do in Python.
    need_memory_engine(engine)
    manager = SeatManager([1, 2], lock_timeout=60, store=f"memory://?engine={engine}")
    before = time.monotonic()
    single = manager.lock_seat(1, "u")
    bulk = manager.lock_seats_bulk([2], "u")
    status = manager.seat_status(1)
    after = time.monotonic()
    for held in (single, bulk):
        assert held.deadline is not None
        assert before + 60 <= held.deadline <= after + 60
    assert status.time_left is not None
    assert 60 - (after - before) - 1e-6 <= status.time_left <= 60 + 1e-6  # float rounding


def test_clock_is_injectable() -> None:
    now = [100.0]
    manager = SeatManager([1], lock_timeout=2, clock=lambda: now[0])
    assert manager.lock_seat(1, "u").deadline == 102.0
    now[0] = 102.0
    assert manager.seat_status(1).state is SeatState.AVAILABLE
    assert manager.cleanup_expired_locks() == 1


@pytest.mark.parametrize(
    ("options", "error", "named"),
    [
        ({"clock": 5}, TypeError, "5"),
        ({"clock": "monotonic"}, TypeError, "'monotonic'"),
        ({"store": 5}, TypeError, "5"),
        ({"store": b"memory://"}, TypeError, "b'memory://'"),
        ({"store": "nosuch://host"}, UnknownStoreError, "'nosuch://host'"),
        ({"event": ""}, ValueError, "''"),
        ({"event": 5}, TypeError, "5"),
    ],
)
def test_bad_options_name_the_value(
    options: dict[str, Any], error: type[Exception], named: str
) -> None:
    with pytest.raises(error, match=re.escape(named)):
        SeatManager([1], **options)


def test_unknown_store_lists_the_known_schemes() -> None:
    with pytest.raises(UnknownStoreError, match=re.escape("memory://")) as raised:
        SeatManager([1], store="nosuch://host")
    assert isinstance(raised.value, ValueError)


def test_manager_is_a_context_manager() -> None:
    with SeatManager([1]) as manager:
        assert manager.lock_seat(1, "u")
