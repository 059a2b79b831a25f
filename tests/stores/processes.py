"""Races and kills across processes, for any store URL that processes can share.

``race`` runs worker processes, each with its own manager on one store and event, that
race for the same seats with single and bulk operations and short real holds; it returns
every worker's history. ``check_bookings`` checks a history against a fresh manager.
``kill_mid_bulk`` SIGKILLs a process that books groups, then checks no group is partial.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time
from dataclasses import dataclass
from multiprocessing.synchronize import Event as EventFlag

from seatlock import SeatManager, SeatState


@dataclass(frozen=True)
class Call:
    """One finished operation in a worker."""

    op: str
    seat_ids: tuple[int, ...]
    user: str
    ok: bool
    start: float
    end: float


def _worker(
    url: str,
    event: str,
    seats: int,
    user: str,
    ops: int,
    seed: int,
    hold: float,
    out: multiprocessing.Queue[list[Call]],
) -> None:
    rng = random.Random(seed)
    history: list[Call] = []
    with SeatManager([], lock_timeout=hold, store=url, event=event) as manager:
        held: list[tuple[int, ...]] = []
        for _ in range(ops):
            start = time.monotonic()
            if held and rng.random() < 0.6:
                group = held.pop(rng.randrange(len(held)))
                op = rng.choice(["book", "book", "cancel"])
                if len(group) == 1:
                    result = (manager.book_a_seat if op == "book" else manager.cancel_lock)(
                        group[0], user
                    )
                else:
                    bulk = manager.book_seats_bulk if op == "book" else manager.cancel_locks_bulk
                    result = bulk(list(group), user)
            else:
                op = "lock"
                group = tuple(rng.sample(range(seats), rng.choice([1, 1, 2, 3])))
                if len(group) == 1:
                    result = manager.lock_seat(group[0], user)
                else:
                    result = manager.lock_seats_bulk(list(group), user)
                if result:
                    held.append(group)
            history.append(Call(op, group, user, bool(result), start, time.monotonic()))
    out.put(history)


def race(
    url: str, event: str, *, seats: int = 12, workers: int = 4, ops: int = 150, hold: float = 0.05
) -> list[Call]:
    """Run ``workers`` processes racing on ``seats`` seats; return all their calls."""
    with SeatManager(range(seats), lock_timeout=hold, store=url, event=event):
        pass
    ctx = multiprocessing.get_context("spawn")
    out: multiprocessing.Queue[list[Call]] = ctx.Queue()
    procs = [
        ctx.Process(target=_worker, args=(url, event, seats, f"user{i}", ops, i, hold, out))
        for i in range(workers)
    ]
    for proc in procs:
        proc.start()
    history = [call for _ in procs for call in out.get(timeout=120)]
    for proc in procs:
        proc.join(timeout=30)
        assert proc.exitcode == 0, f"worker exited with {proc.exitcode}"
    return history


def check_bookings(url: str, event: str, history: list[Call], seats: int) -> int:
    """Check no seat was booked twice and every confirmed booking (and only those) is
    there when a fresh manager reopens the store; return how many seats were booked."""
    booked_by: dict[int, str] = {}
    for call in history:
        if call.op == "book" and call.ok:
            for seat in call.seat_ids:
                assert seat not in booked_by, f"seat {seat} booked twice: {booked_by[seat]}, {call}"
                booked_by[seat] = call.user
    with SeatManager([], store=url, event=event) as fresh:
        for seat in range(seats):
            status = fresh.seat_status(seat)
            if seat in booked_by:
                assert status.state is SeatState.BOOKED, (seat, status)
                assert status.holder == booked_by[seat], (seat, status)
            else:
                assert status.state is not SeatState.BOOKED, f"seat {seat} booked unconfirmed"
    return len(booked_by)


def _group_booker(url: str, event: str, groups: int, size: int, started: EventFlag) -> None:
    with SeatManager([], lock_timeout=30, store=url, event=event) as manager:
        for g in range(groups):
            ids = list(range(g * size, (g + 1) * size))
            manager.lock_seats_bulk(ids, "buyer")
            manager.book_seats_bulk(ids, "buyer")
            started.set()


def kill_mid_bulk(url: str, event: str, *, groups: int = 20_000, size: int = 4) -> int:
    """SIGKILL a process that locks and books groups of seats in bulk while it runs;
    check every group is whole (all its seats in one state); return the groups booked."""
    with SeatManager(range(groups * size), store=url, event=event):
        pass
    ctx = multiprocessing.get_context("spawn")
    started = ctx.Event()
    proc = ctx.Process(target=_group_booker, args=(url, event, groups, size, started))
    proc.start()
    assert started.wait(timeout=60), "the victim never booked a group"
    time.sleep(0.1)  # not waiting for expiry: letting the victim get mid-way
    assert proc.pid is not None
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(timeout=30)
    assert proc.exitcode == -signal.SIGKILL, f"the victim ended before the kill: {proc.exitcode}"
    with SeatManager([], lock_timeout=30, store=url, event=event) as fresh:
        booked = set(fresh.seat_ids(SeatState.BOOKED))
        locked = set(fresh.seat_ids(SeatState.LOCKED))
    for g in range(groups):
        group = set(range(g * size, (g + 1) * size))
        for name, seats in (("booked", booked), ("locked", locked)):
            assert len(group & seats) in (0, size), f"group {g} is partly {name}"
    whole = len(booked) // size
    assert 0 < whole < groups, f"the kill landed outside the run: {whole} of {groups} booked"
    return whole
