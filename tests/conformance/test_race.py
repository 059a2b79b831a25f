"""SPEC §6: threads race on one event; the recorded history of every call must show no
double booking, no partial group, no lost booking and no lock taken over while live."""

from __future__ import annotations

import random
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from seatlock import Result, SeatManager, SeatState

from .support import Venue

THREADS = 8
ROUNDS = 8
"""Each round races on a fresh event, so seats stay contested (bookings are final)."""
STEPS = 250
"""Lock attempts per thread per round; each brings a few more calls."""
SEATS = list(range(20))
USERS = ["ann", "ben", "cat", "dan", "eve"]
TIMEOUT = 0.05
TICK = 0.01
"""How far a thread moves the venue's clock at a time: five ticks expire a lock."""


@dataclass(frozen=True)
class Call:
    """One call as recorded: what was asked, when (real time), and what came back."""

    op: str
    seats: tuple[int, ...]
    user: str
    start: float
    end: float
    result: Result


@pytest.fixture
def fine_switching() -> Iterator[None]:
    """Let threads switch often, so calls interleave as much as they can."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(before)


def race(venue: Venue, managers: list[SeatManager], seed: int) -> list[Call]:
    """Run the threads; return every lock/book/cancel call they made."""
    barrier = threading.Barrier(THREADS)
    histories: list[list[Call]] = [[] for _ in range(THREADS)]
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        manager = managers[index % len(managers)]
        history = histories[index]

        def call(op: str, seats: tuple[int, ...], user: str) -> Result:
            method: Callable[..., Result] = getattr(manager, op)
            target: object = seats[0] if op in SINGLE else list(seats)
            start = time.perf_counter()
            result = method(target, user)
            history.append(Call(op, seats, user, start, time.perf_counter(), result))
            return result

        try:
            barrier.wait()
            for _ in range(STEPS):
                user = rng.choice(USERS)
                seats = tuple(rng.sample(SEATS, rng.choice([1, 1, 2, 3])))
                bulk = len(seats) > 1 or rng.random() < 0.2
                if call("lock_seats_bulk" if bulk else "lock_seat", seats, user):
                    follow = rng.random()
                    if follow < 0.04:
                        call("book_seats_bulk" if bulk else "book_a_seat", seats, user)
                    elif follow < 0.4:
                        call("cancel_locks_bulk" if bulk else "cancel_lock", seats, user)
                noise = rng.random()
                if noise < 0.15:
                    op = rng.choice([*SINGLE[1:], *BULK[1:]])
                    call(op, tuple(rng.sample(SEATS, 1 if op in SINGLE else 2)), rng.choice(USERS))
                elif noise < 0.25:
                    venue.advance(TICK)
                elif noise < 0.3:
                    manager.cleanup_expired_locks()
        except BaseException as exc:  # pragma: no cover (reported below)
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return [call for history in histories for call in history]


SINGLE = ["lock_seat", "book_a_seat", "cancel_lock"]
BULK = ["lock_seats_bulk", "book_seats_bulk", "cancel_locks_bulk"]


def check_history(calls: list[Call], manager: SeatManager) -> Counter[str]:
    """Check the history against the final state; return how many calls succeeded, by op."""
    ok = [c for c in calls if c.result]
    books = [c for c in ok if c.op.startswith("book")]
    locks = [c for c in ok if c.op.startswith("lock")]
    cancels = Counter((seat, c.user) for c in ok if c.op.startswith("cancel") for seat in c.seats)

    # every seat booked by at most one successful book, and exactly those seats end booked
    booked_by: dict[int, Call] = {}
    for book in books:
        for seat in book.seats:
            assert seat not in booked_by, f"seat {seat} booked twice: {booked_by[seat]}, {book}"
            booked_by[seat] = book
    final = {seat: manager.seat_status(seat) for seat in SEATS}
    for seat, status in final.items():
        if seat in booked_by:  # no lost booking, no partial group, the right holder
            assert (status.state, status.holder) == (SeatState.BOOKED, booked_by[seat].user)
        else:  # nothing booked that no call confirmed
            assert status.state is not SeatState.BOOKED, f"seat {seat} booked by no call"

    # tokens: one per successful lock call, larger than every lock that ended before it
    tokens = [c.result.token for c in locks]
    assert all(type(t) is int for t in tokens)
    assert len(set(tokens)) == len(tokens)
    by_seat: dict[int, list[Call]] = defaultdict(list)
    for lock in sorted(locks, key=lambda c: c.result.token or 0):
        for seat in lock.seats:
            by_seat[seat].append(lock)
    for seat, seat_locks in by_seat.items():
        latest_start = float("-inf")
        early: Counter[tuple[int, str]] = Counter()
        for before, after in zip([None, *seat_locks], seat_locks, strict=False):
            assert after.end >= latest_start, f"seat {seat}: {after} ended before a lower token"
            latest_start = max(latest_start, after.start)
            if before is None:
                continue
            # a lock taken over before its deadline must have been cancelled by its holder
            assert before.result.deadline is not None
            assert after.result.deadline is not None
            if before.result.deadline + TIMEOUT > after.result.deadline:
                early[seat, before.user] += 1
        for key, count in early.items():
            assert count <= cancels[key], f"seat {seat}: a live lock of {key[1]} taken over"
        # booked is final: no lock on the seat starts after its booking ended
        if seat in booked_by:
            assert all(lock.start < booked_by[seat].end for lock in seat_locks)

    # a booking with no lock of its seat racing it follows a lock of its own user
    for seat, book in booked_by.items():
        overlapping = [c for c in by_seat[seat] if c.start <= book.end and c.end >= book.start]
        earlier = [c for c in by_seat[seat] if c.end < book.start]
        assert earlier or overlapping, f"seat {seat} booked with no lock: {book}"
        if not overlapping:
            assert earlier[-1].user == book.user, f"seat {seat} booked by a non-holder: {book}"
    return Counter(c.op for c in ok)


@pytest.mark.usefixtures("fine_switching")
def test_threads_race_without_breaking_the_rules(open_venue: Callable[[], Venue]) -> None:
    succeeded: Counter[str] = Counter()
    for round_ in range(ROUNDS):
        venue = open_venue()
        managers = [venue.manager(SEATS, lock_timeout=TIMEOUT) for _ in range(2)]
        calls = race(venue, managers, seed=round_)
        succeeded += check_history(calls, managers[1])
    # the race did exercise every operation
    assert set(succeeded) == {*SINGLE, *BULK}, succeeded
    assert succeeded["book_a_seat"] + succeeded["book_seats_bulk"] >= 20
