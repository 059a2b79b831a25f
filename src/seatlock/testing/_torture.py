"""The torture workload: client threads (and processes) racing on one event, recorded.

Each client acts for random users on random seats: it locks (one seat or a group, single
or bulk calls); comes back to its oldest hold later (maybe after it lapsed) to book it,
cancel it or walk away; and now and then tries a book or cancel it has no hold for. It
stops when it has seen every seat booked (sold out). A janitor thread runs cleanup meanwhile;
with a fake store clock, a clock thread moves it on as operations are logged, so holds
expire at a pace that does not depend on the store's speed.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import random
import threading
import time
from collections.abc import Callable, Sequence
from multiprocessing.synchronize import Barrier

from ..errors import StoreError
from ..manager import SeatManager
from ..results import Reason, Result, SeatId, UserId
from ._checker import Verdict, check
from ._history import History, Operation, RecordingManager, final_state

_USERS: tuple[UserId, ...] = ("ann", "ben", "cat", "dan", 1, "1")
"""Who the clients act for (``1`` and ``"1"`` are different users)."""
_GROUP_SIZES = (1, 1, 1, 2, 2, 3)
_ENDINGS = ("book", "cancel", "cancel", "cancel", "cancel", "abandon", "abandon", "abandon")
"""How a client ends a hold it took, when it comes back to it: abandoned holds lapse."""
_PROCESS_WAIT = 120.0
"""Seconds to wait for worker processes to start or to report."""


def run_clients(
    managers: Sequence[SeatManager],
    seat_ids: Sequence[SeatId],
    history: History,
    *,
    clients: int = 8,
    seed: int = 0,
    ops: int | None = None,
    seconds: float | None = None,
    advance: Callable[[], None] | None = None,
    ops_per_tick: int = 16,
) -> None:
    """Race ``clients`` threads on ``seat_ids``, logging every call to ``history``.

    Args:
        managers: the clients use them in turn (managers of one event, any store).
        seat_ids: the event's seats the clients fight over.
        history: where calls are logged.
        clients: client threads; a janitor thread runs cleanup alongside them.
        seed: seeds each client's choices (threads still interleave freely).
        ops: operations per client, at most (a client stops once it has seen every seat
            booked); or
        seconds: how long the clients run, at most.
        advance: moves the store's (fake) clock on; called by a clock thread after every
            ``ops_per_tick`` logged operations. Leave it out for a real clock.

    Raises:
        Exception: the first that a thread raised, other than a logged store failure.
    """
    if (ops is None) == (seconds is None):
        raise ValueError("give exactly one of ops and seconds")
    recorders = [history.record(m) for m in managers]
    stop = threading.Event()
    errors: list[BaseException] = []
    end = time.monotonic() + (seconds or 0.0)

    def more(done: int) -> bool:
        if stop.is_set():
            return False
        return done < ops if ops is not None else time.monotonic() < end

    def janitor() -> None:
        pause = 0.001 if advance is not None else min(0.05, managers[0].lock_timeout / 4)
        while not stop.wait(pause):
            with contextlib.suppress(StoreError):  # the store may answer the next call
                recorders[0].cleanup_expired_locks()

    def clock(tick: Callable[[], None]) -> None:
        due = ops_per_tick
        while not stop.is_set():
            if len(history) >= due:
                tick()
                due += ops_per_tick
            else:
                time.sleep(0.0002)

    def guarded(target: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                target()
            except BaseException as exc:
                errors.append(exc)
                stop.set()

        return run

    workers = [
        threading.Thread(
            target=guarded(
                _Client(recorders[k % len(recorders)], seat_ids, seed * 1000 + k, more).run
            ),
            name=f"client-{k}",
        )
        for k in range(clients)
    ]
    helpers = [threading.Thread(target=guarded(janitor), name="janitor")]
    if advance is not None:
        helpers.append(threading.Thread(target=guarded(lambda: clock(advance)), name="clock"))
    for thread in [*helpers, *workers]:
        thread.start()
    for thread in workers:
        thread.join()
    stop.set()
    for thread in helpers:
        thread.join()
    if errors:
        raise errors[0]


class _Client:
    """One client thread's random calls; it stops when it has seen every seat booked."""

    def __init__(
        self,
        manager: RecordingManager,
        seat_ids: Sequence[SeatId],
        seed: int,
        more: Callable[[int], bool],
    ) -> None:
        self.manager = manager
        self.unsold = list(seat_ids)
        """The seats this client has not seen booked."""
        self.rng = random.Random(seed)
        self.more = more
        self.held: list[tuple[tuple[SeatId, ...], UserId, bool]] = []
        """Groups this client locked, oldest first: (seats, user, bulk call)."""

    def run(self) -> None:
        done = 0
        while self.unsold and self.more(done):
            done += 1
            with contextlib.suppress(StoreError):  # logged; the store may answer the next
                self.step()

    def step(self) -> None:
        rng, held = self.rng, self.held
        roll = rng.random()
        if held and (roll < 0.3 or len(held) > 6):
            seats, user, bulk = held.pop(0)
            kind = rng.choice(_ENDINGS)
            if kind != "abandon":
                self.call(kind, seats[::-1] if rng.random() < 0.5 else seats, user, bulk)
        elif roll < 0.88:
            user = rng.choice(_USERS)
            seats = self.pick(_GROUP_SIZES)
            bulk = len(seats) > 1 or rng.random() < 0.2
            if self.call("lock", seats, user, bulk):
                held.append((seats, user, bulk))
        else:  # a book or cancel by someone who most likely holds nothing there
            seats = self.pick((1, 2))
            self.call(rng.choice(("book", "cancel")), seats, rng.choice(_USERS), len(seats) > 1)

    def pick(self, sizes: Sequence[int]) -> tuple[SeatId, ...]:
        """Some seats not seen booked."""
        size = min(self.rng.choice(sizes), len(self.unsold))
        return tuple(self.rng.sample(self.unsold, size))

    def call(self, kind: str, seats: tuple[SeatId, ...], user: UserId, bulk: bool) -> Result:
        m = self.manager
        if bulk:
            many = {"lock": m.lock_seats_bulk, "book": m.book_seats_bulk}
            result = many.get(kind, m.cancel_locks_bulk)(list(seats), user)
        else:
            one = {"lock": m.lock_seat, "book": m.book_a_seat}
            result = one.get(kind, m.cancel_lock)(seats[0], user)
        sold = {c.seat_id for c in result.conflicts if c.reason is Reason.ALREADY_BOOKED}
        if result and kind == "book":
            sold.update(seats)
        if sold:
            self.unsold = [s for s in self.unsold if s not in sold]
        return result


def soak_round(
    url: str,
    event: str,
    seat_ids: Sequence[SeatId],
    *,
    lock_timeout: float,
    seconds: float,
    clients: int = 8,
    processes: int = 0,
    seed: int = 0,
) -> Verdict:
    """Run the workload on a store URL in real time, here and in worker processes; check it.

    ``clients`` threads in this process and in each of ``processes`` processes (which must
    share the store: not ``memory://``) race on ``event`` for ``seconds``, with holds of
    ``lock_timeout`` seconds. Returns the checker's verdict on the whole history and the
    final state.
    """
    history = History()
    with SeatManager(seat_ids, lock_timeout, store=url, event=event) as manager:
        context = multiprocessing.get_context("spawn")
        out: multiprocessing.Queue[tuple[list[Operation], int] | None] = context.Queue()
        start = context.Barrier(processes + 1)
        workers = [
            context.Process(
                target=_process_clients,
                args=(url, event, list(seat_ids), lock_timeout, seconds, clients),
                kwargs={"seed": seed * 1000 + 100 * (k + 1), "start": start, "out": out},
                name=f"soak-{k}",
            )
            for k in range(processes)
        ]
        for worker in workers:
            worker.start()
        parts: list[tuple[list[Operation], int] | None] = [None]
        try:
            if workers:
                start.wait(_PROCESS_WAIT)
            run_clients([manager], seat_ids, history, clients=clients, seed=seed, seconds=seconds)
            parts = [out.get(timeout=_PROCESS_WAIT) for _ in workers]
        except threading.BrokenBarrierError:
            pass  # a worker failed before the start: reported below
        finally:
            for worker in workers:
                worker.join(_PROCESS_WAIT)
        codes = [w.exitcode for w in workers]
        if any(codes):
            raise RuntimeError(f"soak worker processes failed: exit codes {codes}")
        operations = history.operations
        released = history.released
        for part in parts:
            assert part is not None
            operations += part[0]
            released += part[1]
        return check(operations, final_state(manager, seat_ids), released=released)


def _process_clients(
    url: str,
    event: str,
    seat_ids: list[SeatId],
    lock_timeout: float,
    seconds: float,
    clients: int,
    *,
    seed: int,
    start: Barrier,
    out: multiprocessing.Queue[tuple[list[Operation], int] | None],
) -> None:
    """A worker process of :func:`soak_round`: send back its history and cleanup count
    (``None`` if it failed)."""
    history = History()
    try:
        with SeatManager(seat_ids, lock_timeout, store=url, event=event) as manager:
            start.wait(_PROCESS_WAIT)
            run_clients([manager], seat_ids, history, clients=clients, seed=seed, seconds=seconds)
    except BaseException:
        start.abort()
        out.put(None)
        raise
    out.put((history.operations, history.released))
