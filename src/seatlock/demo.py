"""The on-sale simulation behind ``seatlock demo``: racing buyers, expiring holds, an audit.

:func:`run_demo` lets buyer threads race for a venue's seats on any store while a janitor
thread cleans up expired holds, records every call (a :class:`seatlock.testing.History`),
and returns a :class:`DemoReport`. :func:`audit` checks that history against the seats'
final state with :func:`seatlock.testing.check` and sorts what it finds into the
guarantees the report lists: they are proved from what happened, not taken from counters.
Nothing here prints; the CLI presents the report. Time is real: this is a live demo, not a
test clock.
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
from .testing import History, Kind, Operation, RecordingManager, Verdict, check, final_state
from .testing._history import BOOKS, LOCKS

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
    """What the history of calls shows, and the guarantees checked against it.

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
    verdict: Verdict
    """The history checker's verdict, every violation in full."""

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
        history = History()
        sale = _Sale(history.record(manager), rows, config, random.Random(seed))
        elapsed = sale.run(progress)
        janitor_released = history.released
        final_sweep = sale.manager.cleanup_expired_locks()
        if isinstance(config.store, str) and urlsplit(config.store).scheme == "memory":
            final = final_state(manager, seat_ids)  # memory:// is private to its manager
        else:
            with SeatManager(seat_ids, config.hold, store=config.store, event=event) as fresh:
                final = final_state(fresh, seat_ids)
    late_books = [result for lane in sale.lanes for result in lane.late_books]
    return DemoReport(
        config=config,
        event=event,
        seed=seed,
        elapsed=elapsed,
        janitor_released=janitor_released,
        final_sweep=final_sweep,
        audit=audit(history.operations, late_books, final, history.released),
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


class _Sale:
    """The running on-sale: buyer lanes, the janitor and the signal that stops them."""

    def __init__(
        self,
        manager: RecordingManager,
        rows: list[list[SeatId]],
        config: DemoConfig,
        rng: random.Random,
    ) -> None:
        self.manager = manager
        self.reads = manager.manager
        """The real manager, for reads (the history records calls that change seats)."""
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
        while self.reads.counts()[SeatState.LOCKED]:  # no new holds: at most one hold time
            time.sleep(self.config.hold / 10)
        return elapsed

    def _watch(self, until: float, progress: Callable[[int], None] | None) -> None:
        """Report seats sold until they all are, ``until`` passes or a thread fails."""
        while True:
            sold = self.reads.counts()[SeatState.BOOKED]
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
    """Calls ``cleanup_expired_locks()`` four times per hold time (the history counts)."""

    def __init__(self, sale: _Sale) -> None:
        self.sale = sale

    def run(self) -> None:
        while not self.sale.stop.wait(self.sale.config.hold / 4):
            self.sale.manager.cleanup_expired_locks()


class _Lane:
    """One checkout: serves buyers one after another until the sale stops.

    Each buyer (a new user id) picks a group size, holds adjacent seats if it can, tries
    other seats when refused, then books, books too late, cancels or walks away.
    """

    def __init__(self, sale: _Sale, number: int, rng: random.Random) -> None:
        self.sale = sale
        self.number = number
        self.rng = rng
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
            if result:
                return result
            refused.update(conflict.seat_id for conflict in result.conflicts)
        return None

    def _pick(self, size: int, refused: set[SeatId]) -> list[SeatId]:
        """Free seats for a group: adjacent ones, front rows most wanted; else any, front first."""
        free = set(self.sale.reads.seat_ids(SeatState.AVAILABLE)).difference(refused)
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


_CHECKS: tuple[tuple[str, str, frozenset[Kind]], ...] = (
    ("double bookings", "no seat was confirmed booked twice", frozenset({Kind.DOUBLE_BOOKING})),
    (
        "partial groups",
        "each bulk booking's seats all end booked by its buyer",
        frozenset({Kind.PARTIAL_BULK}),
    ),
    (
        "lost bookings",
        "each confirmed booking is in the final state, same buyer",
        frozenset({Kind.LOST_BOOKING}),
    ),
    (
        "unconfirmed bookings",
        "each booked or held seat at the end was confirmed to its buyer by a result",
        frozenset({Kind.UNCONFIRMED_BOOKING, Kind.FINAL_HOLD}),
    ),
    (
        "overlapping holds",
        "no hold over a live hold or a booked seat; only its holder ends a hold, once",
        frozenset(
            {Kind.LOCK_STOLEN, Kind.CHANGED_AFTER_BOOKING, Kind.NOT_HOLDER, Kind.RELEASED_TWICE}
        ),
    ),
    (
        "late checkouts accepted",
        "no booking after its hold's deadline",
        frozenset({Kind.AFTER_EXPIRY}),
    ),
    (
        "expiries miscounted",
        "each expired hold released once: by cleanup or a new lock",
        frozenset({Kind.CLEANUP_OVERCOUNT}),  # and too few released: see audit()
    ),
    (
        "unexplained results",
        "every result fits one order of the calls: tokens, deadlines, refusals",
        frozenset(
            {Kind.MALFORMED_RESULT, Kind.TOKEN_ORDER, Kind.CLOCK_WENT_BACK, Kind.UNEXPLAINED_RESULT}
        ),
    ),
)
"""The report's checks: each is a name, its rule, and the violations it counts."""


def audit(
    operations: Iterable[Operation],
    late_books: Iterable[Result],
    final: Mapping[SeatId, SeatStatus],
    released: int,
) -> Audit:
    """Check the guarantees against a history of calls and the seats' final state.

    Args:
        operations: every call the buyers and the janitor made, as recorded, for user ids
            that each took at most one hold per seat.
        late_books: the book results of buyers who asked only after their hold's deadline
            had passed: each must be a refusal (``late checkouts accepted`` counts those
            that were not, or what the checker found, whichever is more).
        final: every seat's status after the sale, every hold lapsed and cleaned up.
        released: how many seat holds cleanup reported releasing, in all.
    """
    history = list(operations)
    verdict = check(history, final, released=released)
    found = {
        name: sum(violation.kind in kinds for violation in verdict.violations)
        for name, _, kinds in _CHECKS
    }
    late = "late checkouts accepted"
    found[late] = max(found[late], sum(bool(result) for result in late_books))
    # Every hold has lapsed and a last cleanup ran: each expired hold that no new lock
    # took over was released by a cleanup (the checker bounds the count from above only).
    taken_over = verdict.expired - verdict.released
    found["expiries miscounted"] += max(0, taken_over - _relocked(history))
    refused = [op for op in history if op.reason is not None and not op.ok]
    return Audit(
        customers=len({op.user_id for op in history if op.op in LOCKS}),
        holds=verdict.locks,
        held_seats=verdict.holds,
        booked_seats=verdict.booked,
        groups_booked=sum(op.op is Op.BOOK_BULK and op.ok for op in history),
        cancelled=verdict.cancelled,
        expired=verdict.expired,
        released=verdict.released,
        taken_over=max(0, taken_over),
        conflicts=sum(op.op in LOCKS for op in refused),
        refused_checkouts=sum(op.op in BOOKS for op in refused),
        sold=sum(status.state is SeatState.BOOKED for status in final.values()),
        checks=tuple(Check(name, rule, found[name]) for name, rule, _ in _CHECKS),
        verdict=verdict,
    )


def _relocked(history: list[Operation]) -> int:
    """Holds that a later lock of the seat followed while their holder had neither booked
    nor cancelled them: expired holds a new lock took over."""
    holds: dict[SeatId, list[tuple[int, UserId]]] = defaultdict(list)
    ended: set[tuple[SeatId, UserId]] = set()
    for op in history:
        if op.ok and op.op in LOCKS:
            assert op.token is not None, op  # a successful lock has one
            for seat_id in op.seat_ids:
                holds[seat_id].append((op.token, op.user_id))
        elif op.ok:
            ended.update((seat_id, op.user_id) for seat_id in op.seat_ids)
    return sum(
        (seat_id, user) not in ended
        for seat_id, seat_holds in holds.items()
        for _, user in sorted(seat_holds)[:-1]
    )
