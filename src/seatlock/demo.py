"""The on-sale simulation behind ``seatlock demo``: racing buyers, expiring holds, an audit.

:func:`run_demo` lets buyer threads race for a venue's seats on any store while a janitor
thread cleans up expired holds, records every result the engine gives, and returns a
:class:`DemoReport`. :func:`audit` checks that history against the seats' final state:
the guarantees are proved from what happened, not taken from counters. Nothing here
prints; the CLI presents the report. Time is real: this is a live demo, not a test clock.
"""

from __future__ import annotations

import math
import random
import secrets
import string
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple
from urllib.parse import urlsplit

from .manager import SeatManager
from .results import Op, Result, SeatId, UserId
from .seat import SeatState, SeatStatus
from .stores.base import Store

DEFAULT_STORE = "sqlite:///seatlock-demo.db"
"""Where ``seatlock demo`` keeps its seats unless ``--store`` names another store."""

ROW_LENGTH = 20
"""Seats per row of the venue."""
GROUP_SIZES = (1, 2, 3, 4)
GROUP_WEIGHTS = (35, 35, 15, 15)
LOCK_ATTEMPTS = 4
"""How many sets of seats a buyer tries to hold before giving up."""

Action = Literal["book", "late", "cancel", "abandon"]
_ACTIONS: tuple[Action, ...] = ("book", "late", "cancel", "abandon")
_ACTION_WEIGHTS = (75, 7, 8, 10)
# Waits, in multiples of the hold time: (shortest, longest).
_DELAYS: dict[Action, tuple[float, float]] = {
    "book": (0.1, 0.7),  # pays within the hold
    "late": (1.1, 1.5),  # comes back to pay after the hold lapsed: must be refused
    "cancel": (0.1, 0.5),  # changes their mind and releases the seats
    "abandon": (0.0, 0.0),  # walks away: the hold lapses
}
_BROWSE = (0.2, 0.8)
"""Between one buyer and the next at the same checkout."""
_THINK = (0.0, 0.3)
"""From seeing the free seats to asking for them: others may take them meanwhile."""
_WATCH_EVERY = 0.05
"""Seconds between two progress reports."""
_EPSILON = 1e-6
"""Slack, in seconds, for rounding when comparing deadlines."""


@dataclass(frozen=True)
class DemoConfig:
    """What to simulate.

    Args:
        store: a store URL, or a :class:`~seatlock.Store` object (read back through a
            fresh manager, as a shared store is).
        event: the event's name; default a new ``demo-…`` name each run.
        seats: seats in the venue, in rows of :data:`ROW_LENGTH`.
        buyers: concurrent buyers (threads).
        hold: seconds a hold lasts (the manager's ``lock_timeout``).
        time_limit: seconds after which the sale stops if it has not sold out.
        seed: seeds the buyers' choices (default random); threads still interleave freely.

    Raises:
        ValueError: a count or duration that is not > 0, or an empty event name.
    """

    store: str | Store = DEFAULT_STORE
    event: str | None = None
    seats: int = 500
    buyers: int = 32
    hold: float = 0.5
    time_limit: float = 30.0
    seed: int | None = None

    def __post_init__(self) -> None:
        for name in ("seats", "buyers"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name} must be a whole number > 0, not {value!r}")
        for name in ("hold", "time_limit"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a finite number of seconds > 0, not {value!r}")
        if self.event == "":
            raise ValueError("event must not be empty")


class Check(NamedTuple):
    """One guarantee checked against the history, and how many violations were found."""

    name: str
    rule: str
    violations: int

    @property
    def passed(self) -> bool:
        """True when no violation was found."""
        return self.violations == 0


@dataclass(frozen=True)
class Audit:
    """What the history of results shows, and the guarantees checked against it.

    Seat holds count seats: a bulk hold of three seats is three seat holds.
    """

    customers: int
    """Buyers who asked for a hold."""
    holds: int
    """Successful lock calls (a bulk lock is one)."""
    held_seats: int
    """Seat holds taken."""
    booked_seats: int
    """Seats confirmed booked by a successful result."""
    groups_booked: int
    """Successful bulk bookings."""
    cancelled: int
    """Seat holds released by their holder."""
    expired: int
    """Seat holds that lapsed: neither booked nor cancelled."""
    released: int
    """Expired seat holds that cleanup released (as it reported)."""
    taken_over: int
    """Expired seat holds that a new lock replaced: ``expired - released``."""
    conflicts: int
    """Lock calls refused."""
    refused_checkouts: int
    """Book calls refused (the hold had lapsed)."""
    sold: int
    """Seats booked in the final state."""
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return all(check.passed for check in self.checks)


@dataclass(frozen=True)
class DemoReport:
    """The outcome of :func:`run_demo`."""

    config: DemoConfig
    event: str
    """The event the sale ran on."""
    seed: int
    """The seed the buyers' choices came from."""
    elapsed: float
    """Seconds from the first buyer to the end of the sale."""
    janitor_released: int
    """Expired seat holds the janitor thread's cleanups released."""
    final_sweep: int
    """Expired seat holds the last cleanup, after every hold lapsed, released."""
    audit: Audit

    @property
    def sold_out(self) -> bool:
        """True when every seat was sold."""
        return self.audit.sold == self.config.seats

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return self.audit.ok


def run_demo(config: DemoConfig, progress: Callable[[int], None] | None = None) -> DemoReport:
    """Run an on-sale and audit it.

    Args:
        config: what to simulate.
        progress: called from this thread with the number of seats sold, several times a
            second while the sale runs.

    Raises:
        ValueError: the event already holds seats, holds or bookings (name a new event).
        SeatlockError: the store failed (re-raised from the thread it failed in).
    """
    event = config.event or f"demo-{uuid.uuid4().hex[:8]}"
    seed = secrets.randbits(32) if config.seed is None else config.seed
    rows = venue(config.seats)
    seat_ids = [seat_id for row in rows for seat_id in row]
    with SeatManager(seat_ids, config.hold, store=config.store, event=event) as manager:
        counts = manager.counts()
        if counts[SeatState.AVAILABLE] != config.seats or sum(counts.values()) != config.seats:
            raise ValueError(
                f"event {event!r} already has other seats, holds or bookings; "
                "name a new event for the demo"
            )
        sale = _Sale(manager, rows, config, random.Random(seed))
        elapsed = sale.run(progress)
        final_sweep = manager.cleanup_expired_locks()
        if isinstance(config.store, str) and urlsplit(config.store).scheme == "memory":
            final = _statuses(manager, seat_ids)  # memory:// is private to its manager
        else:
            with SeatManager(seat_ids, config.hold, store=config.store, event=event) as fresh:
                final = _statuses(fresh, seat_ids)
    results = [result for lane in sale.lanes for result in lane.results]
    late_books = [result for lane in sale.lanes for result in lane.late_books]
    released = sale.janitor.released + final_sweep
    return DemoReport(
        config=config,
        event=event,
        seed=seed,
        elapsed=elapsed,
        janitor_released=sale.janitor.released,
        final_sweep=final_sweep,
        audit=audit(results, late_books, final, config.hold, released),
    )


def venue(seats: int) -> list[list[SeatId]]:
    """The venue's seat ids, row by row from the front: ``A1`` … ``A20``, ``B1`` …"""
    ids: list[SeatId] = [f"{_row_label(i // ROW_LENGTH)}{i % ROW_LENGTH + 1}" for i in range(seats)]
    return [ids[start : start + ROW_LENGTH] for start in range(0, seats, ROW_LENGTH)]


def _row_label(index: int) -> str:
    """``A`` … ``Z``, ``AA``, ``AB`` … for row 0, 1, …"""
    label = ""
    index += 1
    while index:
        index, letter = divmod(index - 1, 26)
        label = string.ascii_uppercase[letter] + label
    return label


def _statuses(manager: SeatManager, seat_ids: list[SeatId]) -> dict[SeatId, SeatStatus]:
    return {seat_id: manager.seat_status(seat_id) for seat_id in seat_ids}


class _Sale:
    """The running on-sale: buyer lanes, the janitor and the signal that stops them."""

    def __init__(
        self,
        manager: SeatManager,
        rows: list[list[SeatId]],
        config: DemoConfig,
        rng: random.Random,
    ) -> None:
        self.manager = manager
        self.rows = rows
        self.config = config
        self.stop = threading.Event()
        self.errors: list[Exception] = []
        self.lanes = [
            _Lane(self, number, random.Random(rng.getrandbits(64)))
            for number in range(1, config.buyers + 1)
        ]
        self.janitor = _Janitor(self)

    def run(self, progress: Callable[[int], None] | None) -> float:
        """Sell until sold out or the time limit; wait for the last holds to lapse.

        Returns the seconds the sale took.
        """
        threads = [self._start(lane.run, f"buyer-{lane.number}") for lane in self.lanes]
        threads.append(self._start(self.janitor.run, "janitor"))
        start = time.monotonic()
        try:
            self._watch(start + self.config.time_limit, progress)
        finally:
            elapsed = time.monotonic() - start
            self.stop.set()
            for thread in threads:
                thread.join()
        if self.errors:
            raise self.errors[0]
        while self.manager.counts()[SeatState.LOCKED]:  # no new holds: at most one hold time
            time.sleep(self.config.hold / 10)
        return elapsed

    def _watch(self, until: float, progress: Callable[[int], None] | None) -> None:
        """Report seats sold until they all are, ``until`` passes or a thread fails."""
        while True:
            sold = self.manager.counts()[SeatState.BOOKED]
            if progress is not None:
                progress(sold)
            if sold >= self.config.seats or time.monotonic() >= until:
                return
            if self.stop.wait(_WATCH_EVERY):
                return

    def _start(self, target: Callable[[], None], name: str) -> threading.Thread:
        """Run ``target`` in a thread; an exception there is kept and stops the sale."""

        def guarded() -> None:
            try:
                target()
            except Exception as exc:
                self.errors.append(exc)
                self.stop.set()

        thread = threading.Thread(target=guarded, name=name)
        thread.start()
        return thread


class _Janitor:
    """Calls ``cleanup_expired_locks()`` four times per hold time and adds up its counts."""

    def __init__(self, sale: _Sale) -> None:
        self.sale = sale
        self.released = 0

    def run(self) -> None:
        while not self.sale.stop.wait(self.sale.config.hold / 4):
            self.released += self.sale.manager.cleanup_expired_locks()


class _Lane:
    """One checkout: serves buyers one after another until the sale stops.

    Each buyer (a new user id) picks a group size, holds adjacent seats if it can, tries
    other seats when refused, then books, books too late, cancels or walks away.
    """

    def __init__(self, sale: _Sale, number: int, rng: random.Random) -> None:
        self.sale = sale
        self.number = number
        self.rng = rng
        self.results: list[Result] = []
        self.late_books: list[Result] = []

    def run(self) -> None:
        buyer = 0
        while not self._pause(_BROWSE):
            buyer += 1
            self._serve(f"b{self.number}-{buyer}")

    def _pause(self, span: tuple[float, float]) -> bool:
        """Wait a random part of ``span`` hold times; True if the sale stopped meanwhile."""
        return self.sale.stop.wait(self.rng.uniform(*span) * self.sale.config.hold)

    def _serve(self, user: str) -> None:
        hold = self._hold(user, self.rng.choices(GROUP_SIZES, GROUP_WEIGHTS)[0])
        if hold is None:
            return
        action = self.rng.choices(_ACTIONS, _ACTION_WEIGHTS)[0]
        if action == "abandon" or self._pause(_DELAYS[action]):
            return  # the hold lapses
        manager, seats = self.sale.manager, hold.seat_ids
        if action == "cancel":
            result = _one_or_many(manager.cancel_lock, manager.cancel_locks_bulk, seats, user)
        else:
            result = _one_or_many(manager.book_a_seat, manager.book_seats_bulk, seats, user)
        self.results.append(result)
        if action == "late":
            self.late_books.append(result)

    def _hold(self, user: str, size: int) -> Result | None:
        """Hold seats for ``user``, trying other seats when refused; the hold, or None."""
        manager = self.sale.manager
        refused: set[SeatId] = set()
        for _ in range(LOCK_ATTEMPTS):
            seats = self._pick(size, refused)
            if not seats or self._pause(_THINK):
                return None
            result = _one_or_many(manager.lock_seat, manager.lock_seats_bulk, seats, user)
            self.results.append(result)
            if result:
                return result
            refused.update(conflict.seat_id for conflict in result.conflicts)
        return None

    def _pick(self, size: int, refused: set[SeatId]) -> list[SeatId]:
        """Free seats for a group: adjacent ones, front rows most wanted; else any, front first."""
        free = set(self.sale.manager.seat_ids(SeatState.AVAILABLE)).difference(refused)
        rows = self.sale.rows
        runs = [
            row[i : i + size]
            for row in rows
            for i in range(len(row) - size + 1)
            if free.issuperset(row[i : i + size])
        ]
        if runs:
            return runs[int(len(runs) * self.rng.random() ** 2)]
        return [seat_id for row in rows for seat_id in row if seat_id in free][:size]


def _one_or_many(
    one: Callable[[SeatId, UserId], Result],
    many: Callable[[Sequence[SeatId], UserId], Result],
    seat_ids: Sequence[SeatId],
    user: UserId,
) -> Result:
    """Call the single-seat operation for one seat, the bulk one for a group."""
    return one(seat_ids[0], user) if len(seat_ids) == 1 else many(seat_ids, user)


class _Hold(NamedTuple):
    token: int
    deadline: float
    user: UserId


def audit(
    results: Iterable[Result],
    late_books: Iterable[Result],
    final: Mapping[SeatId, SeatStatus],
    lock_timeout: float,
    released: int,
) -> Audit:
    """Check the guarantees against a history of results and the seats' final state.

    Args:
        results: every result the engine gave (lock, book and cancel; single and bulk),
            for user ids that each took at most one hold.
        late_books: the book results, among ``results``, of buyers who asked only after
            their hold's deadline had passed.
        final: every seat's status after the sale, every hold lapsed and cleaned up.
        lock_timeout: the hold time, to tell when each hold was taken from its deadline.
        released: how many seat holds cleanup reported releasing, in all.
    """
    holds: dict[SeatId, list[_Hold]] = defaultdict(list)
    booked: dict[SeatId, list[UserId]] = defaultdict(list)
    cancelled: set[tuple[SeatId, UserId]] = set()
    bulk_books: list[Result] = []
    customers: set[UserId] = set()
    hold_count = held_seats = conflicts = refused = 0
    for result in results:
        op, user = result.op, result.user_id
        if op is Op.LOCK or op is Op.LOCK_BULK:
            customers.add(user)
            if not result:
                conflicts += 1
                continue
            assert result.token is not None, result  # a successful lock has both
            assert result.deadline is not None, result
            hold_count += 1
            held_seats += len(result.seat_ids)
            for seat_id in result.seat_ids:
                holds[seat_id].append(_Hold(result.token, result.deadline, user))
        elif op is Op.BOOK or op is Op.BOOK_BULK:
            if not result:
                refused += 1
                continue
            for seat_id in result.seat_ids:
                booked[seat_id].append(user)
            if op is Op.BOOK_BULK:
                bulk_books.append(result)
        elif result:
            cancelled.update((seat_id, user) for seat_id in result.seat_ids)

    # Walk each seat's holds in token order (the order they were granted): a hold ends
    # booked (then nothing may follow), cancelled, or expired (then the next hold must
    # have been taken at or after its deadline).
    expired = relocked = overlaps = 0
    for seat_id, seat_holds in holds.items():
        seat_holds.sort()
        for hold, after in zip(seat_holds, [*seat_holds[1:], None], strict=True):
            if hold.user in booked.get(seat_id, ()):
                overlaps += after is not None
            elif (seat_id, hold.user) not in cancelled:
                expired += 1
                if after is not None:
                    relocked += 1
                    overlaps += after.deadline - lock_timeout < hold.deadline - _EPSILON

    def booked_by(seat_id: SeatId, user: UserId) -> bool:
        status = final.get(seat_id)
        return status is not None and status.state is SeatState.BOOKED and status.holder == user

    taken_over = expired - released
    checks = (
        Check(
            "double bookings",
            "no seat was confirmed booked twice",
            sum(len(users) > 1 for users in booked.values()),
        ),
        Check(
            "partial groups",
            "each bulk booking's seats all end booked by its buyer",
            sum(
                not all(booked_by(seat_id, r.user_id) for seat_id in r.seat_ids) for r in bulk_books
            ),
        ),
        Check(
            "lost bookings",
            "each confirmed booking is in the final state, same buyer",
            sum(not booked_by(seat_id, u) for seat_id, users in booked.items() for u in users),
        ),
        Check(
            "unconfirmed bookings",
            "each booked seat was confirmed to its buyer by a result",
            sum(
                status.state is SeatState.BOOKED and seat_id not in booked
                for seat_id, status in final.items()
            ),
        ),
        Check(
            "overlapping holds",
            "no hold granted on a booked seat or over a live hold",
            overlaps,
        ),
        Check(
            "late checkouts accepted",
            "no booking after its hold's deadline",
            sum(bool(result) for result in late_books),
        ),
        Check(
            "expiries miscounted",
            "each expired hold released once: by cleanup or a new lock",
            max(0, -taken_over) + max(0, taken_over - relocked),
        ),
    )
    return Audit(
        customers=len(customers),
        holds=hold_count,
        held_seats=held_seats,
        booked_seats=len(booked),
        groups_booked=len(bulk_books),
        cancelled=len(cancelled),
        expired=expired,
        released=released,
        taken_over=taken_over,
        conflicts=conflicts,
        refused_checkouts=refused,
        sold=sum(status.state is SeatState.BOOKED for status in final.values()),
        checks=checks,
    )
