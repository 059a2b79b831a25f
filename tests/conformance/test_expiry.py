"""SPEC §2: a lock taken at t is no lock from t + lock_timeout on, for every operation,
whether or not cleanup ran; cleanup counts exactly the locks it released itself."""

from __future__ import annotations

from typing import Any

import pytest

from seatlock import Reason, Seat, SeatState

from .support import Venue

TIMEOUTS = [10, 0.5, 2.5, 1]


@pytest.fixture(params=TIMEOUTS, ids=lambda t: f"timeout={t}")
def timeout(request: pytest.FixtureRequest) -> float:
    value: float = request.param
    return value


@pytest.mark.parametrize("bulk", [False, True], ids=["single", "bulk"])
def test_lock_is_live_until_its_deadline(venue: Venue, timeout: float, bulk: bool) -> None:
    manager = venue.manager([1, 2], lock_timeout=timeout)
    assert manager.lock_seats_bulk([1, 2], "alice") if bulk else manager.lock_seat(1, "alice")
    venue.advance(timeout * 0.75)
    venue.advance(timeout * 0.25 - timeout / 1024)
    assert manager.seat_status(1).state is SeatState.LOCKED
    assert manager.lock_seat(1, "bob").reason is Reason.HELD_BY_OTHER
    assert manager.lock_seats_bulk([1], "bob").reason is Reason.HELD_BY_OTHER
    assert manager.cleanup_expired_locks() == 0
    assert manager.cancel_lock(1, "alice")


# What the holder (alice) and others can do on seat 1 once alice's lock has expired.
AFTER_EXPIRY: list[tuple[str, tuple[Any, ...], str]] = [
    ("lock_seat", (1, "bob"), "Seat 1 is locked by bob"),
    ("lock_seat", (1, "alice"), "Seat 1 is locked by alice"),
    ("lock_seats_bulk", ([1, 2], "bob"), "Seats [1, 2] locked by bob"),
    ("lock_seats_bulk", ((2, 1), "alice"), "Seats (2, 1) locked by alice"),
    ("book_a_seat", (1, "alice"), "Seat 1 is not locked"),
    ("book_a_seat", (1, "bob"), "Seat 1 is not locked"),
    ("book_seats_bulk", ([2, 1], "alice"), "Seat 2 is not locked"),
    ("cancel_lock", (1, "alice"), "Seat 1 is not locked"),
    ("cancel_lock", (1, "bob"), "Seat 1 is not locked"),
    ("cancel_locks_bulk", ([1, 2], "alice"), "Seat 1 is not locked"),
]


@pytest.mark.parametrize("bulk", [False, True], ids=["single", "bulk"])
@pytest.mark.parametrize(("method", "args", "message"), AFTER_EXPIRY)
def test_expired_lock_is_no_lock_for_every_operation(
    venue: Venue, timeout: float, bulk: bool, method: str, args: tuple[Any, ...], message: str
) -> None:
    seats = [Seat(1), Seat(2), Seat(3)]
    manager = venue.manager(seats, lock_timeout=timeout)
    locked = manager.lock_seats_bulk([1, 2], "alice") if bulk else manager.lock_seat(1, "alice")
    assert locked
    if not bulk:
        assert manager.lock_seat(2, "alice")
    assert manager.lock_seat(3, "carol")
    venue.advance(timeout)

    status = manager.seat_status(1)
    assert (status.state, status.holder, status.deadline, status.token) == (
        SeatState.AVAILABLE,
        None,
        None,
        None,
    )
    assert manager.seat_ids(SeatState.LOCKED) == []
    assert manager.seat_ids("AVAILABLE") == [1, 2, 3]
    assert manager.counts() == {SeatState.AVAILABLE: 3, SeatState.LOCKED: 0, SeatState.BOOKED: 0}
    assert all(s.is_available() and not s.is_locked() for s in seats)

    result = getattr(manager, method)(*args)
    assert result == message
    if method.startswith("lock"):
        assert result.ok
        assert result.token is not None
        assert result.token > locked.token
        assert result.deadline == venue.now() + timeout
        assert manager.seat_status(1).holder == args[1]
    else:
        assert result.reason is Reason.NOT_LOCKED
        assert all(c.reason is Reason.NOT_LOCKED for c in result.conflicts)
        assert manager.seat_ids(SeatState.LOCKED) == []


def test_old_holder_cannot_use_a_lock_taken_over(venue: Venue) -> None:
    seats = [Seat(1), Seat(2)]
    manager = venue.manager(seats, lock_timeout=5)
    assert manager.lock_seats_bulk([1, 2], "alice")
    venue.advance(5)
    assert manager.lock_seat(1, "bob")
    assert manager.book_a_seat(1, "alice") == "Seat 1 is locked by another user"
    assert manager.cancel_lock(1, "alice").conflicts == ((1, Reason.HELD_BY_OTHER, "bob"),)
    assert manager.book_seats_bulk([1, 2], "alice").conflicts == (
        (1, Reason.HELD_BY_OTHER, "bob"),
        (2, Reason.NOT_LOCKED, None),
    )
    assert manager.book_a_seat(1, "bob")
    assert manager.seat_status(1).holder == "bob"
    assert seats[0].is_booked()
    assert seats[1].is_available()


def test_seat_objects_show_the_state_expiry_applied(venue: Venue) -> None:
    seats = [Seat(1), Seat("b")]
    outsider = Seat(1)
    manager = venue.manager(seats, lock_timeout=3)
    assert [s.status for s in seats] == ["AVAILABLE", "AVAILABLE"]
    assert manager.lock_seat(1, "u")
    assert manager.lock_seat("b", "u")
    assert seats[0].is_locked()
    assert not seats[0].is_available()
    assert seats[0].status == "LOCKED"
    assert outsider.is_available(), "a Seat never handed to the manager shows nothing"
    venue.advance(3)
    assert seats[0].is_available()
    assert not seats[0].is_locked()
    assert manager.lock_seat("b", "u")
    assert manager.book_a_seat("b", "u")
    assert seats[1].is_booked()
    assert not seats[1].is_locked()
    assert seats[1].status == SeatState.BOOKED


def test_cleanup_counts_exactly_the_locks_it_releases(venue: Venue) -> None:
    manager = venue.manager([1, 2, 3, 4, 5, 6, 7, "x"], lock_timeout=10)
    assert manager.lock_seat(1, "alice")
    assert manager.lock_seats_bulk([2, 3, "x"], "bob")
    assert manager.lock_seat(5, "carol")
    assert manager.cancel_lock(5, "carol")  # cancelled: nothing left to expire
    assert manager.lock_seat(6, "carol")
    assert manager.book_a_seat(6, "carol")  # booked: nothing to expire
    venue.advance(5)
    assert manager.lock_seat(4, "dave")  # expires 5 s after the others
    venue.advance(5)  # 1, 2, 3, x have expired; 4 has not
    assert manager.lock_seat(3, "erin")  # taken over by a single lock
    assert manager.lock_seats_bulk(["x", 7], "bob")  # taken over by its holder, in bulk
    released = manager.cleanup_expired_locks()
    assert type(released) is int
    assert released == 2  # seats 1 and 2
    assert manager.cleanup_expired_locks() == 0
    assert manager.seat_ids(SeatState.LOCKED) == [3, 4, 7, "x"]
    assert manager.seat_ids(SeatState.BOOKED) == [6]
    venue.advance(5)
    assert manager.cleanup_expired_locks() == 1  # seat 4
    venue.advance(5)
    assert manager.cleanup_expired_locks() == 3  # seats 3, 7 and x
    assert manager.cleanup_expired_locks() == 0
    assert manager.counts()[SeatState.AVAILABLE] == 7


def test_cleanup_on_a_clean_event_releases_nothing(venue: Venue) -> None:
    manager = venue.manager([1, 2, 3])
    assert manager.cleanup_expired_locks() == 0
    assert manager.lock_seat(1, "u")
    assert manager.lock_seats_bulk([2, 3], "v")
    assert manager.book_seats_bulk([2, 3], "v")
    venue.advance(9.5)
    assert manager.cleanup_expired_locks() == 0
    assert manager.seat_status(1).holder == "u"
    venue.advance(1e6)
    assert manager.cleanup_expired_locks() == 1
    assert manager.cleanup_expired_locks() == 0
    assert manager.seat_ids(SeatState.BOOKED) == [2, 3]


def test_cleanup_counts_many_locks_exactly(venue: Venue) -> None:
    seats = list(range(2500))
    manager = venue.manager(seats, lock_timeout=1)
    for seat in seats[:1500]:
        assert manager.lock_seat(seat, f"u{seat % 7}")
    for start in range(1500, 2500, 50):
        assert manager.lock_seats_bulk(seats[start : start + 50], "group")
    venue.advance(1)
    for seat in range(0, 2500, 10):  # 250 taken over
        assert manager.lock_seat(seat, "late")
    assert manager.cleanup_expired_locks() == 2250
    assert manager.cleanup_expired_locks() == 0
    venue.advance(1)
    assert manager.cleanup_expired_locks() == 250


def test_cleanup_counts_exactly_after_heavy_churn(venue: Venue) -> None:
    """Thousands of locks that end early (cancelled or taken over) are never counted."""
    manager = venue.manager(list(range(20)), lock_timeout=3)
    for round_ in range(300):
        for seat in range(20):
            assert manager.lock_seat(seat, round_)  # takes over last round's expired lock
            if seat % 4:
                assert manager.cancel_lock(seat, round_)
        venue.advance(3)  # this round's five live locks expire
        if round_ in (249, 299):  # the queue passes 4096 entries before the first
            assert manager.cleanup_expired_locks() == 5
    assert manager.cleanup_expired_locks() == 0
    assert manager.lock_seats_bulk([0, 1, 2], "last")
    venue.advance(2.5)
    assert manager.cleanup_expired_locks() == 0
    assert manager.seat_ids(SeatState.LOCKED) == [0, 1, 2]
    venue.advance(0.5)
    assert manager.cleanup_expired_locks() == 3


@pytest.mark.parametrize(
    "seats",
    [[1, 2, 3], ["x", "y", "z"], [1, "y", 3]],
    ids=["int-ids", "text-ids", "mixed-ids"],
)
def test_locks_of_different_lengths_on_one_event(venue: Venue, seats: list[Any]) -> None:
    """Two managers on one event with different timeouts: a later lock may end earlier."""
    long = venue.manager([*seats, "long"], lock_timeout=100)
    short = venue.manager(seats, lock_timeout=10)
    assert long.lock_seat("long", "alice")
    result = short.lock_seats_bulk(seats, "bob")
    assert result == f"Seats {seats} locked by bob"
    assert result.deadline == venue.now() + 10
    assert long.seat_status(seats[0]).deadline == result.deadline
    venue.advance(10)
    assert long.seat_ids(SeatState.LOCKED) == ["long"]
    assert short.cleanup_expired_locks() == 3
    venue.advance(90)
    assert long.cleanup_expired_locks() == 1
    assert short.cleanup_expired_locks() == 0
