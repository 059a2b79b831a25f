"""SPEC §1 and §3: BOOKED is terminal, only the live holder books or cancels, and a bulk
call changes all of its seats or none."""

from __future__ import annotations

from typing import Any

import pytest

from seatlock import Reason, SeatState

from .support import Venue, snapshot

SEATS: list[int | str] = [1, 2, 3, "d"]
EVERY_OPERATION: list[tuple[str, Any]] = [
    ("lock_seat", 1),
    ("lock_seats_bulk", [3, 1]),
    ("book_a_seat", 1),
    ("book_seats_bulk", (1,)),
    ("cancel_lock", 1),
    ("cancel_locks_bulk", [1]),
]


@pytest.mark.parametrize("user", ["alice", "bob"])
@pytest.mark.parametrize(("method", "target"), EVERY_OPERATION)
def test_booked_is_terminal(venue: Venue, method: str, target: Any, user: str) -> None:
    manager = venue.manager(SEATS, lock_timeout=5)
    assert manager.lock_seat(1, "alice")
    assert manager.book_a_seat(1, "alice")
    before = snapshot(manager, SEATS)
    result = getattr(manager, method)(target, user)
    assert not result
    assert (1, Reason.ALREADY_BOOKED, None) in result.conflicts
    assert snapshot(manager, SEATS) == before
    venue.advance(1e9)
    assert manager.cleanup_expired_locks() == 0
    assert not getattr(manager, method)(target, user)
    status = manager.seat_status(1)
    assert (status.state, status.holder) == (SeatState.BOOKED, "alice")


@pytest.mark.parametrize(
    ("method", "target"), [(m, t) for m, t in EVERY_OPERATION if not m.startswith("lock")]
)
def test_only_the_holder_books_or_cancels(venue: Venue, method: str, target: Any) -> None:
    manager = venue.manager(SEATS)
    assert manager.lock_seat(1, "alice")
    before = snapshot(manager, SEATS)
    for intruder in ("bob", "Alice", "alice ", 0):
        result = getattr(manager, method)(target, intruder)
        assert result.conflicts == ((1, Reason.HELD_BY_OTHER, "alice"),)
        assert result == "Seat 1 is locked by another user"
    assert snapshot(manager, SEATS) == before
    assert getattr(manager, method)(target, "alice")


# Each bulk call fails on exactly one seat, first, in the middle or last; the others
# would succeed alone. Seat 1 is held by alice, 2 is booked, 3 and "d" are free.
BULK_FAILURES: list[tuple[str, list[Any], str]] = [
    ("lock_seats_bulk", [1, 3, "d"], "bob"),
    ("lock_seats_bulk", [3, 2, "d"], "bob"),
    ("lock_seats_bulk", [3, "d", 99], "bob"),
    ("lock_seats_bulk", [3, "d", 1], "alice"),
    ("book_seats_bulk", [2, 1], "alice"),
    ("book_seats_bulk", [1, 3], "alice"),
    ("book_seats_bulk", [1, "1"], "alice"),
    ("cancel_locks_bulk", [1, 2], "alice"),
    ("cancel_locks_bulk", ["d", 1], "alice"),
    ("cancel_locks_bulk", [99, 1], "alice"),
]


@pytest.mark.parametrize(("method", "seat_ids", "user"), BULK_FAILURES)
def test_failed_bulk_changes_nothing(
    venue: Venue, method: str, seat_ids: list[Any], user: str
) -> None:
    manager = venue.manager(SEATS)
    assert manager.lock_seat(1, "alice")
    assert manager.lock_seat(2, "carol")
    assert manager.book_a_seat(2, "carol")
    before = snapshot(manager, SEATS)
    result = getattr(manager, method)(seat_ids, user)
    assert not result
    assert len(result.conflicts) == 1
    assert snapshot(manager, SEATS) == before
    venue.advance(10)
    assert manager.cleanup_expired_locks() == 1  # alice's lock on seat 1, nothing else


def test_bulk_success_changes_every_seat_with_one_deadline(venue: Venue) -> None:
    manager = venue.manager(SEATS, lock_timeout=4)
    result = manager.lock_seats_bulk(["d", 1, 3], "bob")
    statuses = [manager.seat_status(s) for s in ("d", 1, 3)]
    assert {(s.state, s.holder, s.deadline, s.token) for s in statuses} == {
        (SeatState.LOCKED, "bob", result.deadline, result.token)
    }
    assert manager.book_seats_bulk([1, 3], "bob")
    assert manager.seat_ids(SeatState.BOOKED) == [1, 3]
    assert manager.cancel_locks_bulk(["d"], "bob")
    assert manager.seat_ids(SeatState.AVAILABLE) == [2, "d"]
