"""SPEC §6 under torture: client threads (and, on shared stores, processes) race with
single and bulk calls, short holds expiring and cleanup running alongside; every history
must be linearizable (``seatlock.testing.check``) and agree with the final state.

``SEATLOCK_TORTURE_SCALE`` (default 1: CI-sized) multiplies the work, for soak runs.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable

import pytest

from seatlock.results import SeatId
from seatlock.testing import History, Verdict, check, final_state, run_clients, soak_round

from .conftest import SHARED
from .support import Venue

SCALE = float(os.environ.get("SEATLOCK_TORTURE_SCALE", "1"))
SEATS: list[SeatId] = [*range(36), "a", "b", "c", "d"]
CLIENTS = 8
ROUNDS = max(1, round(4 * SCALE))
"""Each round is a fresh event that sells out (bookings are final)."""
OPS = 400
"""Operations per client per round, at most (a client stops once it sees all seats booked)."""
TIMEOUTS = (0.05, 0.08)
"""Two managers of one event with different hold times."""
TICK = 0.01
OPS_PER_TICK = 12
"""The clock thread moves the venue's clock by TICK every OPS_PER_TICK logged operations."""
PROCESSES = 2
REAL_SEATS: list[SeatId] = list(range(120))
REAL_TIMEOUT = 0.05
REAL_SECONDS = 3.0
"""Processes cannot share a venue's fake clock: they race in real time, with short holds,
until the seats are sold out (well within REAL_SECONDS)."""


def exercised(verdicts: list[Verdict]) -> dict[str, int]:
    """What the verdicts' histories did, in all."""
    return {
        name: sum(getattr(v, name) for v in verdicts)
        for name in ("operations", "refused", "locks", "booked", "cancelled", "expired", "released")
    }


@pytest.mark.usefixtures("fine_switching")
def test_threads_torture(open_venue: Callable[[], Venue]) -> None:
    verdicts = []
    for round_ in range(ROUNDS):
        venue = open_venue()
        managers = [venue.manager(SEATS, lock_timeout=t) for t in TIMEOUTS]
        history = History(store_clock=venue.now)
        run_clients(
            managers,
            SEATS,
            history,
            clients=CLIENTS,
            seed=round_,
            ops=OPS,
            advance=functools.partial(venue.advance, TICK),
            ops_per_tick=OPS_PER_TICK,
        )
        final = final_state(managers[0], SEATS)
        verdict = check(history.operations, final, released=history.released)
        assert verdict, verdict.report()
        verdicts.append(verdict)
    done = exercised(verdicts)
    assert done["operations"] >= 1000 * ROUNDS, done
    assert done["booked"] >= len(SEATS) * ROUNDS * 3 // 4, done  # most rounds sell out
    assert min(done["refused"], done["cancelled"], done["expired"]) >= 50 * ROUNDS, done
    # The janitor's cleanups run alongside (each verdict bounds their counts), but whether
    # one finds an expired lock before a client takes it over is up to the scheduler.


@pytest.mark.parametrize("open_venue", SHARED, indirect=True)
def test_processes_torture(open_venue: Callable[[], Venue]) -> None:
    verdicts = []
    for round_ in range(max(1, round(SCALE))):
        venue = open_venue()
        assert venue.url is not None, "a shared store's venue names its URL"
        verdict = soak_round(
            venue.url,
            venue.event,
            REAL_SEATS,
            lock_timeout=REAL_TIMEOUT,
            seconds=REAL_SECONDS,
            clients=CLIENTS // 2,
            processes=PROCESSES,
            seed=round_,
        )
        assert verdict, verdict.report()
        verdicts.append(verdict)
    done = exercised(verdicts)
    assert done["operations"] >= 1000, done
    assert min(done["refused"], done["cancelled"], done["expired"]) >= 20, done
    assert done["booked"] > len(REAL_SEATS) // 2, done
