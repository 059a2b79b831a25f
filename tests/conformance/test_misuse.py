"""SPEC §5: misuse raises TypeError/ValueError naming the bad value, before anything
changes, even where a seat named in the call would also conflict."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest

from seatlock import Seat, SeatManager

from .support import Venue, snapshot

SEATS: list[int | str] = [1, 2, 3, "a"]
SINGLE = ["lock_seat", "book_a_seat", "cancel_lock"]
BULK = ["lock_seats_bulk", "book_seats_bulk", "cancel_locks_bulk"]


def _generator() -> Iterator[int]:
    yield 3


BAD_SEAT_IDS: list[Any] = [True, False, 1.0, None, b"1", (1,), [1], Decimal(1), Seat(1)]
BAD_USER_IDS: list[Any] = [True, False, None, 2.5, b"alice", ("alice",), ["alice"]]
EMPTY: list[Any] = [[], ()]
NOT_SEQUENCES: list[Any] = [
    {1, 3},
    frozenset({3}),
    {3: "x"},
    {3: "x"}.keys(),
    iter([1, 3]),
    _generator(),
    "13",
    b"13",
    bytearray(b"13"),
    3,
    None,
]


def _case(method: str, args: tuple[Any, ...], error: type[Exception], named: Any) -> Any:
    return pytest.param(method, args, error, named, id=f"{method}{args!r}"[:60])


CALLS = [
    *(_case(m, (s, "bob"), TypeError, s) for m in SINGLE for s in BAD_SEAT_IDS),
    *(_case(m, (3, u), TypeError, u) for m in SINGLE for u in BAD_USER_IDS),
    *(_case(m, ([3], u), TypeError, u) for m in BULK for u in BAD_USER_IDS),
    *(_case(m, (3, ""), ValueError, "") for m in SINGLE),
    *(_case(m, ([3], ""), ValueError, "") for m in BULK),
    *(_case(m, (s, "bob"), TypeError, s) for m in BULK for s in NOT_SEQUENCES),
    *(_case(m, ([3, s], "bob"), TypeError, s) for m in BULK for s in BAD_SEAT_IDS[:5]),
    *(_case(m, (e, "bob"), ValueError, e) for m in BULK for e in EMPTY),
    *(_case(m, ([3, 3], "bob"), ValueError, 3) for m in BULK),
    *(_case(m, (["a", 3, "a"], "bob"), ValueError, "a") for m in BULK),
    # misuse wins over a conflict: seat 1 is locked by alice, 2 booked, 99 unknown
    *(_case(m, (1, True), TypeError, True) for m in SINGLE),
    *(_case(m, (2, ""), ValueError, "") for m in SINGLE),
    *(_case(m, (99, None), TypeError, None) for m in SINGLE),
    *(_case(m, ([1, 2, 1], "bob"), ValueError, 1) for m in BULK),
    *(_case(m, ([2, 99, 1.5], "alice"), TypeError, 1.5) for m in BULK),
    *(_case(m, ([1, 2], 0.0), TypeError, 0.0) for m in BULK),
    *(_case(m, ({1, 2}, "alice"), TypeError, {1, 2}) for m in BULK),
]


def _named(value: Any) -> str:
    """A pattern that finds ``value``'s repr in the error message."""
    return re.escape(repr(value))


@pytest.mark.parametrize(("method", "args", "error", "named"), CALLS)
def test_misuse_raises_naming_the_value_and_changes_nothing(
    venue: Venue, method: str, args: tuple[Any, ...], error: type[Exception], named: Any
) -> None:
    manager = venue.manager(SEATS)
    assert manager.lock_seat(1, "alice")
    assert manager.lock_seat(2, "alice")
    assert manager.book_a_seat(2, "alice")
    assert manager.lock_seat("a", "bob")
    before = snapshot(manager, SEATS)
    with pytest.raises(error, match=_named(named)):
        getattr(manager, method)(*args)
    assert snapshot(manager, SEATS) == before
    assert manager.cleanup_expired_locks() == 0


@pytest.mark.parametrize(
    ("lock_timeout", "error"),
    [
        (True, TypeError),
        (False, TypeError),
        ("10", TypeError),
        (None, TypeError),
        ([10], TypeError),
        (Decimal(10), TypeError),
        (complex(10), TypeError),
        (0, ValueError),
        (0.0, ValueError),
        (-1, ValueError),
        (-0.5, ValueError),
        (math.nan, ValueError),
        (math.inf, ValueError),
        (-math.inf, ValueError),
    ],
)
def test_bad_lock_timeout(venue: Venue, lock_timeout: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match=_named(lock_timeout)):
        venue.manager([7], lock_timeout=lock_timeout)
    assert venue.manager([1]).seat_ids() == [1], "the refused manager added seat 7"


@pytest.mark.parametrize("lock_timeout", [10, 10.0, 0.001, 1e-9, 86_400 * 365, 2.5])
def test_good_lock_timeout(venue: Venue, lock_timeout: float) -> None:
    manager = venue.manager([1], lock_timeout=lock_timeout)
    assert manager.lock_timeout == lock_timeout
    assert manager.lock_seat(1, "bob")


def test_default_lock_timeout_is_10(venue: Venue) -> None:
    manager = venue.manager([1])
    assert manager.lock_timeout == 10
    assert manager.lock_seat(1, "bob")
    venue.advance(9.75)
    assert manager.seat_status(1).state == "LOCKED"
    venue.advance(0.25)
    assert manager.seat_status(1).state == "AVAILABLE"


@pytest.mark.parametrize(
    ("seats", "error", "named"),
    [
        ([1, True], TypeError, True),
        ([1, 1.5], TypeError, 1.5),
        ([None], TypeError, None),
        ([b"x"], TypeError, b"x"),
        ([1, 2, 1], ValueError, 1),
        ([Seat(1), 1], ValueError, 1),
        (["x", Seat("x")], ValueError, "x"),
        ([1, "1"], ValueError, "1"),
        (["-3", 2, -3], ValueError, -3),
        ([Seat("7"), Seat(7)], ValueError, 7),
    ],
)
def test_bad_seats_for_a_manager(
    venue: Venue, seats: list[Any], error: type[Exception], named: Any
) -> None:
    with pytest.raises(error, match=_named(named)):
        venue.manager(seats)
    assert venue.manager([9]).seat_ids() == [9], "the refused manager added seats"


def test_seat_refuses_a_bad_id() -> None:
    bad: Any
    for bad in (True, 1.0, None, b"1"):
        with pytest.raises(TypeError, match=_named(bad)):
            Seat(bad)


def _extend_with_twin(venue: Venue, _: SeatManager) -> None:
    venue.manager([4, "1"])


def _add_twin(_: Venue, manager: SeatManager) -> None:
    manager.add_seats([4, "2"])


def _add_twin_seat(_: Venue, manager: SeatManager) -> None:
    manager.add_seats([Seat(4), Seat("a"), Seat("3")])


def _add_duplicate(_: Venue, manager: SeatManager) -> None:
    manager.add_seats([4, 4])


def _add_bool(_: Venue, manager: SeatManager) -> None:
    manager.add_seats([4, False])


@pytest.mark.parametrize(
    ("extend", "error", "named"),
    [
        (_extend_with_twin, ValueError, "1"),
        (_add_twin, ValueError, "2"),
        (_add_twin_seat, ValueError, "3"),
        (_add_duplicate, ValueError, 4),
        (_add_bool, TypeError, False),
    ],
)
def test_extending_an_event_with_bad_seats_adds_nothing(
    venue: Venue,
    extend: Callable[[Venue, SeatManager], None],
    error: type[Exception],
    named: Any,
) -> None:
    manager = venue.manager([1, 2, 3, "a"])
    assert manager.lock_seat(1, "alice")
    before = snapshot(manager, [1, 2, 3, "a"])
    with pytest.raises(error, match=_named(named)):
        extend(venue, manager)
    assert snapshot(manager, [1, 2, 3, "a"]) == before
    assert 4 not in manager.seat_ids()


def test_ids_with_the_same_text_are_different_ids(venue: Venue) -> None:
    manager = venue.manager([1, "2"])
    assert manager.lock_seat("1", "bob").reason == "unknown_seat"
    assert manager.lock_seat(2, "bob").reason == "unknown_seat"
    assert manager.lock_seats_bulk([1, "1"], "bob").conflicts == (("1", "unknown_seat", None),)
    assert manager.seat_ids("LOCKED") == []
    assert manager.lock_seat(1, 1)
    assert manager.book_a_seat(1, "1") == "Seat 1 is locked by another user"
    assert manager.cancel_lock(1, "1").reason == "held_by_other"
    assert manager.lock_seat(1, "1") == "Seat 1 is currently locked by 1"
    assert manager.book_a_seat(1, 1) == "Seat 1 is now booked by 1"
    assert manager.seat_status(1).holder == 1
    assert type(manager.seat_status(1).holder) is int
    with pytest.raises(KeyError, match=_named("1")):
        manager.seat_status("1")
