"""The read side: seat_status, seat_ids, counts and add_seats, expiry applied; managers of
one event see one truth (SPEC §7)."""

from __future__ import annotations

import pytest

from seatlock import Seat, SeatState, UnknownSeatError

from .support import Venue


def test_seat_status_fields(venue: Venue) -> None:
    manager = venue.manager([1, "b", 3], lock_timeout=8)
    free = manager.seat_status(1)
    assert (free.seat_id, free.state, free.holder, free.deadline, free.time_left, free.token) == (
        1,
        SeatState.AVAILABLE,
        None,
        None,
        None,
        None,
    )
    locked = manager.lock_seat("b", "bob")
    venue.advance(3)
    status = manager.seat_status("b")
    assert status.seat_id == "b"
    assert status.state is SeatState.LOCKED
    assert status.holder == "bob"
    assert status.deadline == locked.deadline
    assert status.token == locked.token
    assert status.time_left == pytest.approx(5)
    assert status.time_left == status.deadline - venue.now()  # type: ignore[operator]
    assert manager.lock_seat(3, 42)
    assert manager.book_a_seat(3, 42)
    booked = manager.seat_status(3)
    assert (booked.state, booked.holder, booked.deadline, booked.time_left, booked.token) == (
        SeatState.BOOKED,
        42,
        None,
        None,
        None,
    )
    assert booked.state == "BOOKED"


def test_seat_status_of_an_unknown_seat(venue: Venue) -> None:
    manager = venue.manager([1, "b"])
    for unknown in (2, "1", "B"):
        with pytest.raises(UnknownSeatError, match=repr(unknown)) as raised:
            manager.seat_status(unknown)
        assert isinstance(raised.value, KeyError)
    with pytest.raises(TypeError, match="True"):
        manager.seat_status(True)


def test_seat_ids_and_counts(venue: Venue) -> None:
    manager = venue.manager([5, "e", 1, "a", 3], lock_timeout=2)
    assert manager.seat_ids() == [5, "e", 1, "a", 3]
    assert manager.lock_seats_bulk(["a", 5], "u")
    assert manager.lock_seat(1, "v")
    assert manager.book_a_seat(1, "v")
    assert manager.seat_ids(SeatState.LOCKED) == [5, "a"]
    assert manager.seat_ids("LOCKED") == [5, "a"]
    assert manager.seat_ids(SeatState.BOOKED) == [1]
    assert manager.seat_ids("AVAILABLE") == ["e", 3]
    assert manager.counts() == {SeatState.AVAILABLE: 2, SeatState.LOCKED: 2, SeatState.BOOKED: 1}
    venue.advance(2)
    assert manager.seat_ids(SeatState.LOCKED) == []
    assert manager.seat_ids(SeatState.AVAILABLE) == [5, "e", "a", 3]
    assert manager.counts() == {SeatState.AVAILABLE: 4, SeatState.LOCKED: 0, SeatState.BOOKED: 1}
    assert manager.seat_ids() == [5, "e", 1, "a", 3]
    with pytest.raises(ValueError, match="'locked'"):
        manager.seat_ids("locked")


def test_add_seats_adds_the_missing_and_keeps_the_rest(venue: Venue) -> None:
    manager = venue.manager([1, 2, 3])
    locked = manager.lock_seat(1, "alice")
    assert manager.lock_seat(2, "bob")
    assert manager.book_a_seat(2, "bob")
    new_seat = Seat("n")
    manager.add_seats([3, 2, 1, 4, new_seat])
    assert manager.seat_ids() == [1, 2, 3, 4, "n"]
    status = manager.seat_status(1)
    assert (status.state, status.holder, status.token) == ("LOCKED", "alice", locked.token)
    assert manager.seat_status(2).state is SeatState.BOOKED
    assert manager.lock_seats_bulk([4, "n"], "carol")
    assert new_seat.is_locked()  # Seat objects show the state on every store
    manager.add_seats([])
    assert manager.seat_ids() == [1, 2, 3, 4, "n"]


def test_managers_of_one_event_see_one_truth(venue: Venue) -> None:
    first = venue.manager([1, 2])
    assert first.lock_seat(1, "alice")
    assert first.lock_seat(2, "alice")
    assert first.book_a_seat(2, "alice")
    second = venue.manager([1, 2, 3], lock_timeout=30)  # opening never resets a seat
    assert second.seat_status(1).holder == "alice"
    assert second.seat_status(2).state is SeatState.BOOKED
    assert first.seat_ids() == [1, 2, 3], "a seat added by another manager"
    assert second.lock_seat(1, "bob") == "Seat 1 is currently locked by alice"
    assert second.book_a_seat(1, "alice")
    assert first.seat_status(1).state is SeatState.BOOKED
    assert second.lock_seat(3, "bob")
    assert first.cancel_lock(3, "alice").reason == "held_by_other"
    assert first.counts() == second.counts()
    assert [first.seat_status(s) for s in (1, 2, 3)] == [second.seat_status(s) for s in (1, 2, 3)]
    third = venue.manager(["x"])
    assert third.seat_ids() == [1, 2, 3, "x"]
    assert third.lock_seat(3, "carol").reason == "held_by_other"
