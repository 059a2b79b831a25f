"""The on-sale simulation and, above all, that its audit catches every kind of violation."""

from __future__ import annotations

import math

import pytest

from seatlock import (
    Conflict,
    NotPerformedError,
    Op,
    Reason,
    Result,
    SeatId,
    SeatManager,
    SeatState,
    SeatStatus,
    demo,
)
from seatlock.demo import DemoConfig, audit, run_demo, venue
from seatlock.stores.memory import MemoryStore
from seatlock.testing import Kind, Operation

TIMEOUT = 10.0


def lock(seat_ids: str, user: str, at: float, token: int) -> Operation:
    """A successful lock of ``seat_ids`` (space-separated), called and taken at ``at``."""
    ids = tuple(seat_ids.split())
    op = Op.LOCK if len(ids) == 1 else Op.LOCK_BULK
    return Operation(op, ids, user, TIMEOUT, at, at, Reason.OK, token=token, deadline=at + TIMEOUT)


def ok(op: Op, seat_ids: str, user: str, at: float) -> Operation:
    """A successful book or cancel of ``seat_ids`` (space-separated), called at ``at``."""
    return Operation(op, tuple(seat_ids.split()), user, TIMEOUT, at, at, Reason.OK)


def refused(
    op: Op, seat_id: str, user: str, at: float, reason: Reason, holder: str | None = None
) -> Operation:
    """A single-seat call refused for ``reason``."""
    conflict = Conflict(seat_id, reason, holder)
    return Operation(op, (seat_id,), user, TIMEOUT, at, at, reason, (conflict,))


def booked(user: str, seat_ids: str) -> dict[SeatId, SeatStatus]:
    return {s: SeatStatus(s, SeatState.BOOKED, user) for s in seat_ids.split()}


def free(seat_ids: str) -> dict[SeatId, SeatStatus]:
    return {s: SeatStatus(s, SeatState.AVAILABLE) for s in seat_ids.split()}


def violations(
    history: list[Operation],
    final: dict[SeatId, SeatStatus],
    released: int = 0,
    late_books: tuple[Result, ...] = (),
) -> dict[str, int]:
    """The checks that found violations, by name."""
    report = audit(history, late_books, final, released)
    return {check.name: check.violations for check in report.checks if not check.passed}


def test_a_clean_history_passes_and_is_counted() -> None:
    history = [
        lock("A1 A2", "u1", 0, 1),
        ok(Op.BOOK_BULK, "A1 A2", "u1", 0.5),
        refused(Op.LOCK, "A1", "u2", 0.6, Reason.ALREADY_BOOKED),
        lock("A3", "u2", 1, 2),
        ok(Op.CANCEL, "A3", "u2", 1.5),
        lock("A3", "u3", 2, 3),  # abandoned: expires at 12
        lock("A3", "u4", 12, 5),  # takes the expired hold over
        refused(Op.BOOK, "A3", "u3", 12.5, Reason.NOT_LOCKED),  # u3 came back too late
        ok(Op.BOOK, "A3", "u4", 13),
        lock("A4", "u5", 3, 4),  # abandoned, then released by cleanup
    ]
    final = {**booked("u1", "A1 A2"), **booked("u4", "A3"), **free("A4")}
    late = Result(Op.BOOK, Reason.NOT_LOCKED, "A3", "u3")
    result = audit(history, [late], final, released=1)
    assert result.ok, result.verdict.report()
    assert (result.customers, result.holds, result.held_seats) == (5, 5, 6)
    assert (result.booked_seats, result.groups_booked, result.sold) == (3, 1, 3)
    assert (result.cancelled, result.expired, result.released, result.taken_over) == (1, 2, 1, 1)
    assert (result.conflicts, result.refused_checkouts) == (1, 1)


def test_every_kind_of_violation_has_one_check() -> None:
    kinds = [kind for _, _, group in demo._CHECKS for kind in group]
    assert sorted(kinds) == sorted(Kind)


def test_a_double_booking_is_caught() -> None:
    history = [lock("A1", "u1", 0, 1), ok(Op.BOOK, "A1", "u1", 1), ok(Op.BOOK, "A1", "u2", 2)]
    found = violations(history, booked("u1", "A1"))
    assert found == {"double bookings": 1, "lost bookings": 1}  # u2's is not there either


def test_a_partial_group_is_caught() -> None:
    history = [lock("A1 A2", "u1", 0, 1), ok(Op.BOOK_BULK, "A1 A2", "u1", 1)]
    found = violations(history, {**booked("u1", "A1"), **free("A2")})
    assert found == {"partial groups": 1}


def test_a_lost_booking_is_caught() -> None:
    history = [lock("A1", "u1", 0, 1), ok(Op.BOOK, "A1", "u1", 1)]
    assert violations(history, booked("u2", "A1")) == {"lost bookings": 1}
    assert violations(history, free("A1")) == {"lost bookings": 1}


def test_an_unconfirmed_booking_is_caught() -> None:
    assert violations([], booked("u1", "A1")) == {"unconfirmed bookings": 1}


def test_a_hold_over_a_live_hold_is_caught() -> None:
    history = [lock("A1", "u1", 0, 1), lock("A1", "u2", 5, 2)]  # u1's lasts until 10
    assert violations(history, free("A1"), released=1) == {"overlapping holds": 1}


def test_a_hold_on_a_booked_seat_is_caught() -> None:
    history = [lock("A1", "u1", 0, 1), ok(Op.BOOK, "A1", "u1", 1), lock("A1", "u2", 20, 2)]
    assert violations(history, booked("u1", "A1"), released=1) == {"overlapping holds": 1}


def test_a_late_checkout_accepted_is_caught() -> None:
    history = [lock("A1", "u1", 0, 1), ok(Op.BOOK, "A1", "u1", 1)]
    late = Result(Op.BOOK, Reason.OK, "A1", "u1")
    found = violations(history, booked("u1", "A1"), late_books=(late,))
    assert found == {"late checkouts accepted": 1}


def test_a_checkout_after_a_later_lock_showed_expiry_is_caught() -> None:
    history = [lock("A1", "u1", 0, 1), lock("A2", "u2", 20, 2), ok(Op.BOOK, "A1", "u1", 21)]
    found = violations(history, {**booked("u1", "A1"), **free("A2")}, released=1)
    assert found == {"late checkouts accepted": 1}


@pytest.mark.parametrize("released", [0, 2])
def test_a_miscounted_expiry_is_caught(released: int) -> None:
    history = [lock("A1", "u1", 0, 1)]  # expired, and no new lock took it over
    assert violations(history, free("A1"), released) == {"expiries miscounted": 1}


def test_an_unexplained_refusal_is_caught() -> None:
    history = [refused(Op.LOCK, "A1", "u1", 0, Reason.ALREADY_BOOKED)]  # nothing booked it
    assert violations(history, free("A1")) == {"unexplained results": 1}


def test_the_venue_is_rows_from_the_front() -> None:
    rows = venue(45)
    assert [len(row) for row in rows] == [20, 20, 5]
    assert (rows[0][0], rows[0][-1], rows[2][-1]) == ("A1", "A20", "C5")
    assert venue(27 * 20)[-1][0] == "AA1"


@pytest.mark.parametrize(
    "bad",
    [
        {"seats": 0},
        {"buyers": True},
        {"hold": math.nan},
        {"hold": math.inf},
        {"time_limit": 0},
        {"event": ""},
    ],
)
def test_a_bad_config_is_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=next(iter(bad))):
        DemoConfig(**bad)  # type: ignore[arg-type]


def test_a_store_object_is_read_back_by_a_fresh_manager() -> None:
    store = MemoryStore()
    config = DemoConfig(store=store, event="gala", seats=20, buyers=4, hold=0.1, seed=3)
    report = run_demo(config)
    assert report.ok
    assert report.event == "gala"
    with SeatManager([], store=store, event="gala") as manager:
        assert manager.counts()[SeatState.BOOKED] == report.audit.sold
    with pytest.raises(ValueError, match="already has"):
        run_demo(config)


def test_a_store_failure_in_a_thread_stops_the_sale_and_is_raised(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def fail(self: SeatManager) -> int:
        raise NotPerformedError("disk full")

    monkeypatch.setattr(SeatManager, "cleanup_expired_locks", fail)
    with pytest.raises(NotPerformedError, match="disk full"):
        run_demo(DemoConfig(seats=20, buyers=2, hold=0.1, seed=1))
