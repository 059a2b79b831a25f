"""SPEC §4: every result is truthy only on success, is exactly the 0.2.0 message, and
carries the structured fields (reason, seat ids, conflicts, deadline and token).

The expected messages of the situations 0.2.0 also knew (all but those after an expiry,
which 0.2.0 did not apply) were checked against seatlock 0.2.0 itself."""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import pytest

from seatlock import Conflict, Reason, Result, SeatManager

from .support import Venue, snapshot

SEATS: list[int | str] = [1, 2, 3, 4, "a"]
TIMEOUT = 10

U, B, HO, HY, NL = (
    Reason.UNKNOWN_SEAT,
    Reason.ALREADY_BOOKED,
    Reason.HELD_BY_OTHER,
    Reason.HELD_BY_YOU,
    Reason.NOT_LOCKED,
)

Step = tuple[str, tuple[Any, ...]]


class Case(NamedTuple):
    """One row of the SPEC §4 table: a situation, the call, and the result it must give."""

    setup: tuple[Step, ...]
    call: Step
    message: str
    reason: Reason
    conflicts: tuple[Conflict, ...] = ()
    expire: bool = False
    """Let every lock of the setup expire (advance exactly ``TIMEOUT``) before the call."""

    @property
    def ok(self) -> bool:
        return self.reason is Reason.OK

    @property
    def seat_ids(self) -> tuple[object, ...]:
        target = self.call[1][0]
        return tuple(target) if isinstance(target, list) else (target,)


def lock(seat: object, user: object) -> Step:
    return ("lock_seat", (seat, user))


def book(seat: object, user: object) -> Step:
    return ("book_a_seat", (seat, user))


def cancel(seat: object, user: object) -> Step:
    return ("cancel_lock", (seat, user))


def lock_bulk(seats: list[Any], user: object) -> Step:
    return ("lock_seats_bulk", (seats, user))


def book_bulk(seats: list[Any], user: object) -> Step:
    return ("book_seats_bulk", (seats, user))


def cancel_bulk(seats: list[Any], user: object) -> Step:
    return ("cancel_locks_bulk", (seats, user))


BOOKED_1 = (lock(1, "alice"), book(1, "alice"))
OK = Reason.OK

CASES = {
    # seat id unknown (any op)
    "unknown/lock": Case((), lock(99, "bob"), "Seat 99 does not exist", U, (Conflict(99, U),)),
    "unknown/lock-text-twin": Case(
        (), lock("1", "bob"), "Seat 1 does not exist", U, (Conflict("1", U),)
    ),
    "unknown/book": Case((), book(99, "bob"), "Seat 99 does not exist", U, (Conflict(99, U),)),
    "unknown/cancel": Case(
        (), cancel("zz", "bob"), "Seat zz does not exist", U, (Conflict("zz", U),)
    ),
    "unknown/lock-bulk": Case(
        (), lock_bulk([1, 99], "bob"), "Seat 99 does not exist", U, (Conflict(99, U),)
    ),
    "unknown/book-bulk": Case(
        (lock(1, "bob"),),
        book_bulk([1, 99], "bob"),
        "Seat 99 does not exist",
        U,
        (Conflict(99, U),),
    ),
    "unknown/cancel-bulk": Case(
        (lock(1, "bob"),),
        cancel_bulk([1, "1"], "bob"),
        "Seat 1 does not exist",
        U,
        (Conflict("1", U),),
    ),
    # lock: seat booked
    "lock/booked": Case(BOOKED_1, lock(1, "bob"), "Seat 1 is already booked", B, (Conflict(1, B),)),
    "lock/booked-by-self": Case(
        BOOKED_1, lock(1, "alice"), "Seat 1 is already booked", B, (Conflict(1, B),)
    ),
    # lock: seat held live by someone (also by the same user)
    "lock/held-by-other": Case(
        (lock(1, "alice"),),
        lock(1, "bob"),
        "Seat 1 is currently locked by alice",
        HO,
        (Conflict(1, HO, "alice"),),
    ),
    "lock/held-by-self": Case(
        (lock(1, "alice"),),
        lock(1, "alice"),
        "Seat 1 is currently locked by alice",
        HY,
        (Conflict(1, HY, "alice"),),
    ),
    "lock/held-by-int-user": Case(
        (lock("a", 7),),
        lock("a", "7"),
        "Seat a is currently locked by 7",
        HO,
        (Conflict("a", HO, 7),),
    ),
    # lock: success
    "lock/ok": Case((), lock(1, "bob"), "Seat 1 is locked by bob", OK),
    "lock/ok-text-id": Case((), lock("a", 5), "Seat a is locked by 5", OK),
    "lock/ok-after-expiry": Case(
        (lock(1, "alice"),), lock(1, "bob"), "Seat 1 is locked by bob", OK, expire=True
    ),
    # bulk lock: a seat held live; a seat booked
    "lock-bulk/held-by-other": Case(
        (lock(2, "alice"),),
        lock_bulk([1, 2], "bob"),
        "Seat 2 is locked by alice",
        HO,
        (Conflict(2, HO, "alice"),),
    ),
    "lock-bulk/held-by-self": Case(
        (lock(2, "alice"),),
        lock_bulk([1, 2], "alice"),
        "Seat 2 is locked by alice",
        HY,
        (Conflict(2, HY, "alice"),),
    ),
    "lock-bulk/booked": Case(
        BOOKED_1, lock_bulk([2, 1], "bob"), "Seat 1 is already booked", B, (Conflict(1, B),)
    ),
    # bulk lock: success
    "lock-bulk/ok": Case((), lock_bulk([2, 3], "user2"), "Seats [2, 3] locked by user2", OK),
    "lock-bulk/ok-after-expiry": Case(
        (lock_bulk([2, 3], "user1"),),
        lock_bulk([2, 3], "user2"),
        "Seats [2, 3] locked by user2",
        OK,
        expire=True,
    ),
    # book / cancel: seat not locked, or its lock expired
    "book/never-locked": Case((), book(1, "bob"), "Seat 1 is not locked", NL, (Conflict(1, NL),)),
    "book/expired": Case(
        (lock(1, "bob"),), book(1, "bob"), "Seat 1 is not locked", NL, (Conflict(1, NL),), True
    ),
    "book/cancelled": Case(
        (lock(1, "bob"), cancel(1, "bob")),
        book(1, "bob"),
        "Seat 1 is not locked",
        NL,
        (Conflict(1, NL),),
    ),
    "cancel/never-locked": Case(
        (), cancel(1, "bob"), "Seat 1 is not locked", NL, (Conflict(1, NL),)
    ),
    "cancel/expired": Case(
        (lock(1, "bob"),), cancel(1, "bob"), "Seat 1 is not locked", NL, (Conflict(1, NL),), True
    ),
    "book-bulk/not-locked": Case(
        (lock(1, "bob"),), book_bulk([1, 2], "bob"), "Seat 2 is not locked", NL, (Conflict(2, NL),)
    ),
    "book-bulk/expired": Case(
        (lock_bulk([1, 2], "bob"),),
        book_bulk([1, 2], "bob"),
        "Seat 1 is not locked",
        NL,
        (Conflict(1, NL), Conflict(2, NL)),
        True,
    ),
    "cancel-bulk/not-locked": Case(
        (lock(2, "bob"),),
        cancel_bulk([1, 2], "bob"),
        "Seat 1 is not locked",
        NL,
        (Conflict(1, NL),),
    ),
    "cancel-bulk/expired": Case(
        (lock_bulk([1, 2], "bob"),),
        cancel_bulk([2, 1], "bob"),
        "Seat 2 is not locked",
        NL,
        (Conflict(2, NL), Conflict(1, NL)),
        True,
    ),
    # book / cancel: held by another user
    "book/held-by-other": Case(
        (lock(1, "alice"),),
        book(1, "bob"),
        "Seat 1 is locked by another user",
        HO,
        (Conflict(1, HO, "alice"),),
    ),
    "book/held-by-text-twin-user": Case(
        (lock(1, 1),),
        book(1, "1"),
        "Seat 1 is locked by another user",
        HO,
        (Conflict(1, HO, 1),),
    ),
    "cancel/held-by-other": Case(
        (lock(1, "alice"),),
        cancel(1, "bob"),
        "Seat 1 is locked by another user",
        HO,
        (Conflict(1, HO, "alice"),),
    ),
    "book-bulk/held-by-other": Case(
        (lock(1, "alice"), lock(2, "bob")),
        book_bulk([2, 1], "bob"),
        "Seat 1 is locked by another user",
        HO,
        (Conflict(1, HO, "alice"),),
    ),
    "cancel-bulk/held-by-other": Case(
        (lock(1, "alice"), lock(2, "bob")),
        cancel_bulk([2, 1], "bob"),
        "Seat 1 is locked by another user",
        HO,
        (Conflict(1, HO, "alice"),),
    ),
    # book: seat already booked
    "book/booked": Case(BOOKED_1, book(1, "alice"), "Seat 1 is not locked", B, (Conflict(1, B),)),
    "book-bulk/booked": Case(
        (*BOOKED_1, lock(2, "alice")),
        book_bulk([2, 1], "alice"),
        "Seat 1 is not locked",
        B,
        (Conflict(1, B),),
    ),
    # book: success
    "book/ok": Case((lock(1, "bob"),), book(1, "bob"), "Seat 1 is now booked by bob", OK),
    "book-bulk/ok": Case(
        (lock_bulk([2, 3], "user2"),),
        book_bulk([2, 3], "user2"),
        "Seats [2, 3] successfully booked by user2",
        OK,
    ),
    "book-bulk/ok-singly-locked": Case(
        (lock(3, "user2"), lock("a", "user2")),
        book_bulk(["a", 3], "user2"),
        "Seats ['a', 3] successfully booked by user2",
        OK,
    ),
    # cancel: seat booked
    "cancel/booked": Case(
        BOOKED_1,
        cancel(1, "alice"),
        "Seat 1 is already booked and cannot be cancelled",
        B,
        (Conflict(1, B),),
    ),
    "cancel-bulk/booked": Case(
        (*BOOKED_1, lock(2, "alice")),
        cancel_bulk([2, 1], "alice"),
        "Seat 1 is already booked and cannot be cancelled",
        B,
        (Conflict(1, B),),
    ),
    # cancel: success
    "cancel/ok": Case((lock(1, "bob"),), cancel(1, "bob"), "Seat 1 lock cancelled by bob", OK),
    "cancel-bulk/ok": Case(
        (lock_bulk([2, 3], "user2"),),
        cancel_bulk([2, 3], "user2"),
        "Locks for seats [2, 3] cancelled by user2",
        OK,
    ),
}


def run(manager: SeatManager, step: Step) -> Result:
    method, args = step
    result: Result = getattr(manager, method)(*args)
    return result


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_result_matches_the_table(
    venue: Venue, capsys: pytest.CaptureFixture[str], case: Case
) -> None:
    manager = venue.manager(SEATS, lock_timeout=TIMEOUT)
    for step in case.setup:
        assert run(manager, step), step
    if case.expire:
        venue.advance(TIMEOUT)
    before = venue.now()
    result = run(manager, case.call)
    after = venue.now()

    assert str(result) == case.message
    assert f"{result}" == case.message
    assert result.message == case.message
    assert result == case.message
    assert case.message == result
    assert not result != case.message  # noqa: SIM202 (the != operator is under test)
    assert result != case.message + "."
    assert result != case.message[:-1]
    assert hash(result) == hash(case.message)
    print(result)
    assert capsys.readouterr().out == case.message + "\n"

    assert bool(result) is case.ok
    assert result.ok is case.ok
    assert result.reason is case.reason
    assert result.conflicts == case.conflicts
    assert result.seat_ids == case.seat_ids
    if case.ok and case.call[0].startswith("lock"):
        assert type(result.token) is int
        assert result.deadline is not None
        assert before + TIMEOUT <= result.deadline <= after + TIMEOUT
    else:
        assert result.token is None
        assert result.deadline is None


# A bulk call that meets every kind of conflict. Seats: 1 booked by alice, 2 locked by
# alice, 3 locked by bob (the caller), 4 free, 99 unknown.
BULK_CONFLICTS: dict[str, dict[int | str, Conflict]] = {
    "lock_seats_bulk": {
        99: Conflict(99, U),
        1: Conflict(1, B),
        2: Conflict(2, HO, "alice"),
        3: Conflict(3, HY, "bob"),
    },
    "book_seats_bulk": {
        99: Conflict(99, U),
        1: Conflict(1, B),
        2: Conflict(2, HO, "alice"),
        4: Conflict(4, NL),
    },
    "cancel_locks_bulk": {
        99: Conflict(99, U),
        1: Conflict(1, B),
        2: Conflict(2, HO, "alice"),
        4: Conflict(4, NL),
    },
}
FIRST_CONFLICT_MESSAGES: dict[str, dict[int | str, str]] = {
    "lock_seats_bulk": {
        99: "Seat 99 does not exist",
        1: "Seat 1 is already booked",
        2: "Seat 2 is locked by alice",
        3: "Seat 3 is locked by bob",
    },
    "book_seats_bulk": {
        99: "Seat 99 does not exist",
        1: "Seat 1 is not locked",
        2: "Seat 2 is locked by another user",
        4: "Seat 4 is not locked",
    },
    "cancel_locks_bulk": {
        99: "Seat 99 does not exist",
        1: "Seat 1 is already booked and cannot be cancelled",
        2: "Seat 2 is locked by another user",
        4: "Seat 4 is not locked",
    },
}


@pytest.mark.parametrize("method", BULK_CONFLICTS)
def test_bulk_failure_reports_every_conflict_whatever_the_order(venue: Venue, method: str) -> None:
    manager = venue.manager([1, 2, 3, 4])
    for step in (*BOOKED_1, lock(2, "alice"), lock(3, "bob")):
        assert run(manager, step)
    expected = BULK_CONFLICTS[method]
    messages = FIRST_CONFLICT_MESSAGES[method]
    before = snapshot(manager, [1, 2, 3, 4])
    for order in itertools.permutations([1, 2, 3, 4, 99]):
        result = run(manager, (method, (list(order), "bob")))
        in_order = [expected[s] for s in order if s in expected]
        assert not result
        assert result.conflicts == tuple(in_order)
        assert result.reason is in_order[0].reason
        assert result == messages[in_order[0].seat_id]
        assert result.seat_ids == order
        assert result.token is None
    assert snapshot(manager, [1, 2, 3, 4]) == before


def test_bulk_success_does_not_depend_on_the_order(open_venue: Callable[[], Venue]) -> None:
    seats: list[int | str] = [1, "b", 3]
    for order in itertools.permutations(seats):
        manager = open_venue().manager(seats)
        ids = list(order)
        rotated = ids[1:] + ids[:1]
        assert manager.lock_seats_bulk(ids, "bob")
        assert manager.cancel_locks_bulk(rotated, "bob")
        assert manager.lock_seats_bulk(rotated, "bob")
        assert manager.book_seats_bulk(ids[::-1], "bob")
        assert manager.seat_ids("BOOKED") == seats


@pytest.mark.parametrize(
    ("seat_ids", "text"),
    [
        ([2, 3], "[2, 3]"),
        ((2, 3), "(2, 3)"),
        ((2,), "(2,)"),
        (range(2, 4), "range(2, 4)"),
        (["a", 2], "['a', 2]"),
        (deque([3, "a"]), "deque([3, 'a'])"),
    ],
)
def test_bulk_message_shows_the_ids_as_passed(
    venue: Venue, seat_ids: Sequence[Any], text: str
) -> None:
    manager = venue.manager(SEATS)
    assert manager.lock_seats_bulk(seat_ids, "u") == f"Seats {text} locked by u"
    assert manager.cancel_locks_bulk(seat_ids, "u") == f"Locks for seats {text} cancelled by u"
    assert manager.lock_seats_bulk(seat_ids, "u")
    result = manager.book_seats_bulk(seat_ids, "u")
    assert result == f"Seats {text} successfully booked by u"
    assert result.seat_ids == tuple(seat_ids)


def test_bulk_message_is_the_list_as_it_was_at_the_call(venue: Venue) -> None:
    manager = venue.manager(SEATS)
    seat_ids: list[int | str] = [2, 3]
    result = manager.lock_seats_bulk(seat_ids, "u")
    seat_ids.append(4)
    seat_ids[0] = "x"
    assert str(result) == "Seats [2, 3] locked by u"
    assert result.seat_ids == (2, 3)
    assert manager.seat_status(4).state == "AVAILABLE"
