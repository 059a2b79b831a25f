"""SPEC §6: threads race on one event, moving its clock as they go; the recorded history of
every call must be linearizable (``seatlock.testing.check``): no double booking, no
partial group, no lost booking, no lock taken over while live."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable

import pytest

from seatlock import Op, Result, SeatManager
from seatlock.testing import History, check, final_state

from .support import Venue, run_together

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


def race(venue: Venue, managers: list[SeatManager], history: History, seed: int) -> None:
    """Run the threads, logging every call to ``history``."""

    def worker(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        manager = history.record(managers[index % len(managers)])

        def call(op: str, seats: tuple[int, ...], user: str) -> Result:
            method: Callable[..., Result] = getattr(manager, op)
            return method(seats[0] if op in SINGLE else list(seats), user)

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

    run_together(THREADS, worker)


SINGLE = ["lock_seat", "book_a_seat", "cancel_lock"]
BULK = ["lock_seats_bulk", "book_seats_bulk", "cancel_locks_bulk"]


@pytest.mark.usefixtures("fine_switching")
def test_threads_race_without_breaking_the_rules(open_venue: Callable[[], Venue]) -> None:
    succeeded: Counter[Op] = Counter()
    for round_ in range(ROUNDS):
        venue = open_venue()
        managers = [venue.manager(SEATS, lock_timeout=TIMEOUT) for _ in range(2)]
        history = History(store_clock=venue.now)
        race(venue, managers, history, seed=round_)
        final = final_state(managers[1], SEATS)
        verdict = check(history.operations, final, released=history.released)
        assert verdict, verdict.report()
        succeeded.update(op.op for op in history.operations if op.ok)
    # the race did exercise every operation
    assert set(succeeded) == set(Op), succeeded
    assert succeeded[Op.BOOK] + succeeded[Op.BOOK_BULK] >= 20
