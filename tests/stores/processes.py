"""Kills across processes, for any store URL that processes can share.

``kill_mid_bulk`` SIGKILLs a process that books groups, then checks no group is partial.
(Processes racing on one event, checked for linearizability, are the conformance suite's
``test_processes_torture``.)
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from multiprocessing.synchronize import Event as EventFlag

from seatlock import SeatManager, SeatState


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
