"""The workloads that ``benchmarks.vs_020`` times, written against the 0.2.0 API only.

Each function builds its own manager, times one workload and returns its figures (a
``dict`` of floats). It imports ``seatlock`` from wherever ``sys.path`` finds it, so the
same code drives both engines: ``vs_020`` runs every workload in a child process, ::

    PYTHONPATH=<dir> python -S -m benchmarks.workloads NAME '{"n": 1000}'

with ``<dir>`` either a temporary directory holding the published seatlock 0.2.0 or this
repo's ``src/``. The child prints one JSON line: the figures and which ``seatlock`` it
imported and which engine ran (``SEATLOCK_MEMORY_ENGINE`` chooses it). Only the standard
library and seatlock are imported here.

Every workload checks afterwards that it did what it claims (seats booked, locks
released), so a failed call never passes for a fast one.
"""

from __future__ import annotations

import functools
import gc
import json
import random
import statistics
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable, Sequence
from typing import Any

import seatlock
from seatlock import Seat, SeatManager

Figures = dict[str, float]
"""What a workload measured, by name (``pairs_per_s``, ``first_call_s`` …)."""

USER = "user1"
LONG_TIMEOUT = 600
"""Seconds: no lock expires during a workload that does not want it to."""
TINY_TIMEOUT = 0.001
"""Seconds: the cleanup workload's locks expire almost at once (0.2.0 has no clock=)."""
EXPIRY_WAIT = 0.01
"""Seconds the cleanup workload waits for its TINY_TIMEOUT locks to expire. It spins
rather than sleeps: a core woken from sleep runs the next microseconds several times
slower, which would time the wake-up instead of the cleanup (both engines alike)."""


def lock_book_pairs(n: int) -> Figures:
    """``lock_seat`` then ``book_a_seat`` on each of ``n`` distinct seats, one user."""
    seats = [Seat(i) for i in range(n)]
    manager = SeatManager(seats, lock_timeout=LONG_TIMEOUT)
    elapsed = _lock_then_book(seats, manager.lock_seat, manager.book_a_seat, list(range(n)))
    return {"pairs_per_s": n / elapsed, "seconds": elapsed}


def bulk_groups(n: int, group: int = 10) -> Figures:
    """``lock_seats_bulk`` then ``book_seats_bulk`` on groups of ``group`` over ``n`` seats."""
    seats = [Seat(i) for i in range(n)]
    manager = SeatManager(seats, lock_timeout=LONG_TIMEOUT)
    groups = [list(range(g, min(g + group, n))) for g in range(0, n, group)]
    elapsed = _lock_then_book(seats, manager.lock_seats_bulk, manager.book_seats_bulk, groups)
    return {"seats_per_s": n / elapsed, "seconds": elapsed}


def _lock_then_book(
    seats: list[Seat],
    lock: Callable[[Any, str], object],
    book: Callable[[Any, str], object],
    keys: list[Any],
) -> float:
    """Seconds to ``lock`` then ``book`` each of ``keys`` (seat ids or groups of them) in
    turn, as one user; checks that every one of ``seats`` was booked."""
    start = time.perf_counter()
    for key in keys:
        lock(key, USER)
        book(key, USER)
    elapsed = time.perf_counter() - start
    _expect(_booked(seats) == len(seats), f"not all {len(seats)} seats were booked")
    return elapsed


def cleanup_expired(n: int, expired: int = 10, rounds: int = 3, calls: int = 5) -> Figures:
    """``cleanup_expired_locks()`` among ``n`` seats of which ``expired`` hold expired locks.

    Each round locks the ``expired`` seats (spread over the event) with a lock of
    ``TINY_TIMEOUT`` s, waits ``EXPIRY_WAIT`` s, then times the first cleanup call (it
    has the ``expired`` locks to release) and ``calls`` more (nothing left to release).
    Both engines expire locks by real time here, the same wait for both. Returns the
    best (``*_s``) and median (``*_median_s``) seconds per call of each kind.
    """
    seats = [Seat(i) for i in range(n)]
    manager = SeatManager(seats, lock_timeout=TINY_TIMEOUT)
    victims = [seats[i * (n // expired)] for i in range(expired)]
    first: list[float] = []
    repeat: list[float] = []
    for _ in range(rounds):
        for seat in victims:
            manager.lock_seat(seat.seat_id, USER)
        _spin(EXPIRY_WAIT)
        start = time.perf_counter()
        # 0.2.0 returns None; this engine returns how many it released.
        released: object = manager.cleanup_expired_locks()
        first.append(time.perf_counter() - start)
        _expect(released in (None, expired), f"first cleanup released {released!r}")
        _expect(all(s.is_available() for s in victims), "expired seats not available")
        for _ in range(calls):
            start = time.perf_counter()
            released = manager.cleanup_expired_locks()
            repeat.append(time.perf_counter() - start)
            _expect(released in (None, 0), f"repeated cleanup released {released!r}")
    return {
        "first_call_s": min(first),
        "first_call_median_s": statistics.median(first),
        "repeat_call_s": min(repeat),
        "repeat_call_median_s": statistics.median(repeat),
    }


def memory_per_seat(n: int) -> Figures:
    """Bytes per seat that stay allocated after ``SeatManager([Seat(i) …], …)``.

    Traced with ``tracemalloc`` from before the seats are made, so their ``Seat`` objects
    and ids count. ``bytes_per_seat``: the caller keeps its ``Seat`` objects (0.2.0's
    manager keeps them anyway; this one shows its state through them), the caller's
    list itself excluded. ``dropped_bytes_per_seat``: what stays once the caller drops
    its list, as after ``SeatManager([Seat(i) for i in range(n)])``.
    """
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        seats = [Seat(i) for i in range(n)]
        manager = SeatManager(seats, lock_timeout=LONG_TIMEOUT)
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0] - base - sys.getsizeof(seats)
        del seats
        gc.collect()
        dropped = tracemalloc.get_traced_memory()[0] - base
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    _expect(bool(manager.lock_seat(n - 1, USER)), "the manager does not work")
    return {
        "bytes_per_seat": kept / n,
        "dropped_bytes_per_seat": dropped / n,
        "peak_bytes_per_seat": peak / n,
    }


def threads_contending(
    threads: int = 8, seats: int = 1000, ops: int = 25_000, book_every: int = 200
) -> Figures:
    """``threads`` threads on the same ``seats`` seats, ``ops`` iterations each, wall time.

    Each iteration locks a random seat, then books it (one iteration in ``book_every``)
    or cancels the lock, whether or not the lock succeeded. The random plans are made
    before the clock starts, from fixed seeds, so both engines get the same ones.
    """
    seat_objs = [Seat(i) for i in range(seats)]
    manager = SeatManager(seat_objs, lock_timeout=LONG_TIMEOUT)
    plans = []
    for t in range(threads):
        rng = random.Random(t)
        plans.append([(rng.randrange(seats), rng.randrange(book_every) == 0) for _ in range(ops)])
    # Each thread gets bound methods of its own, looked up before the clock starts.
    jobs = [
        functools.partial(
            _play, manager.lock_seat, manager.book_a_seat, manager.cancel_lock, f"user{t}", plan
        )
        for t, plan in enumerate(plans)
    ]
    elapsed = run_together(jobs)
    booked = _booked(seat_objs)
    _expect(0 < booked <= seats, f"{booked} seats booked")
    return {"wall_s": elapsed, "calls_per_s": 2 * threads * ops / elapsed, "booked": booked}


def _play(
    lock: Callable[[int, str], object],
    book: Callable[[int, str], object],
    cancel: Callable[[int, str], object],
    user: str,
    plan: list[tuple[int, bool]],
) -> None:
    """One thread of ``threads_contending``: lock each seat of ``plan``, then book or cancel."""
    for seat_id, booking in plan:
        lock(seat_id, user)
        if booking:
            book(seat_id, user)
        else:
            cancel(seat_id, user)


def run_together(jobs: Sequence[Callable[[], None]]) -> float:
    """Run each job in a thread of its own, all released at once; the wall seconds until
    the last one ends. The first exception a job raised is re-raised here."""
    barrier = threading.Barrier(len(jobs) + 1)
    errors: list[BaseException] = []

    def work(job: Callable[[], None]) -> None:
        barrier.wait()
        try:
            job()
        except BaseException as exc:  # re-raised by the main thread
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(job,)) for job in jobs]
    for worker in workers:
        worker.start()
    barrier.wait()
    start = time.perf_counter()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise errors[0]
    return elapsed


WORKLOADS: dict[str, Callable[..., Figures]] = {
    f.__name__: f
    for f in (lock_book_pairs, bulk_groups, cleanup_expired, memory_per_seat, threads_contending)
}


def _spin(seconds: float) -> None:
    """Wait ``seconds`` without sleeping, so the core stays awake."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def _booked(seats: list[Seat]) -> int:
    return sum(1 for seat in seats if seat.is_booked())


def _expect(condition: bool, problem: str) -> None:
    if not condition:
        raise RuntimeError(f"workload went wrong: {problem}")


def main(argv: list[str] | None = None) -> None:
    """Child entry point: run the workload ``NAME`` with the JSON ``PARAMS``; print JSON."""
    args = sys.argv[1:] if argv is None else argv
    if not 1 <= len(args) <= 2 or args[0] not in WORKLOADS:
        raise SystemExit(f"usage: python -m benchmarks.workloads {{{','.join(WORKLOADS)}}} [JSON]")
    params = json.loads(args[1]) if len(args) == 2 else {}
    figures = WORKLOADS[args[0]](**params)
    print(json.dumps({"seatlock": seatlock.__file__, "engine": _engine(), "figures": figures}))


def _engine() -> str:
    """Which engine ran the memory store: ``"c"`` or ``"python"`` (``"-"`` for 0.2.0)."""
    try:
        from seatlock.stores.memory import MemoryStore
    except ImportError:
        return "-"
    return MemoryStore().engine


if __name__ == "__main__":
    main()
