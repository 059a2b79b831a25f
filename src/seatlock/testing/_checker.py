"""The history checker: is a recorded history linearizable against SPEC.md's model?

The model (SPEC §1-§2, §6): each seat is ``AVAILABLE``, ``LOCKED`` by one user until a
deadline, or ``BOOKED`` (terminal); every operation takes effect atomically at one
instant between its call and its return, a bulk one on all its seats at once; an
operation decides expiry by the store's clock at that instant, and a successful lock
gets a token larger than every earlier lock's on its seats and than every lock's that
returned before it was called.

See :func:`check` for what it assumes and guarantees, and how it works.
"""

from __future__ import annotations

import enum
import math
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import accumulate, pairwise

from ..results import Op, Reason, SeatId, UserId
from ..seat import SeatState, SeatStatus
from ._history import BOOKS, CANCELS, LOCKS, Operation

DEFAULT_TOLERANCE = 1e-6
"""Seconds of slack when comparing store times (PostgreSQL keeps microseconds)."""

_INF = math.inf
_HELD = frozenset({Reason.HELD_BY_OTHER, Reason.HELD_BY_YOU})


class Kind(str, enum.Enum):
    """What a violation breaks."""

    MALFORMED_RESULT = "malformed_result"
    """A result that contradicts itself (no token on a lock, conflicts out of place…)."""
    TOKEN_ORDER = "token_order"
    """A lock got a token not larger than one that returned before it was called."""
    CLOCK_WENT_BACK = "clock_went_back"
    """A lock's time (deadline - lock_timeout) is before that of a lock that returned
    before it was called, or outside the store clock read around it (assumption 2)."""
    DOUBLE_BOOKING = "double_booking"
    """Two calls both booked one seat."""
    CHANGED_AFTER_BOOKING = "changed_after_booking"
    """A seat was locked, cancelled or booked again after its booking."""
    LOCK_STOLEN = "lock_stolen"
    """A lock was granted while another hold on the seat was live and not released."""
    NOT_HOLDER = "not_holder"
    """A book or cancel succeeded for a user who held no lock on the seat then."""
    AFTER_EXPIRY = "after_expiry"
    """A book or cancel succeeded after its user's hold had surely expired."""
    RELEASED_TWICE = "released_twice"
    """More books and cancels succeeded on a seat than there were holds to end."""
    UNEXPLAINED_RESULT = "unexplained_result"
    """A refusal, or a seat a failed bulk call did not list, that no state explains."""
    LOST_BOOKING = "lost_booking"
    """A confirmed booking is not in the final state (or is another user's)."""
    PARTIAL_BULK = "partial_bulk"
    """Only some seats of a confirmed bulk booking are booked in the final state."""
    UNCONFIRMED_BOOKING = "unconfirmed_booking"
    """A seat is booked in the final state, but no call booked it."""
    FINAL_HOLD = "final_hold"
    """The final state shows a hold that is not the seat's last one, or has ended."""
    CLEANUP_OVERCOUNT = "cleanup_overcount"
    """Cleanups reported releasing more locks than could have expired unreleased."""


@dataclass(frozen=True)
class Violation:
    """One broken rule, on one seat (``None``: event-wide), and the operations involved."""

    kind: Kind
    seat_id: SeatId | None
    detail: str
    operations: tuple[Operation, ...]

    def __str__(self) -> str:
        where = "" if self.seat_id is None else f" on seat {self.seat_id!r}"
        lines = [f"{self.kind.value}{where}: {self.detail}"]
        lines += [f"    {operation}" for operation in self.operations]
        return "\n".join(lines)


@dataclass(frozen=True)
class Verdict:
    """What :func:`check` found: truthy when there is no violation."""

    violations: tuple[Violation, ...]
    operations: int
    """Operations in the history."""
    refused: int
    """Operations that returned a refusal."""
    raised: int
    """Operations that raised (surely not performed, or of unknown outcome)."""
    unknown: int
    """Operations whose outcome is unknown."""
    locks: int
    """Successful lock calls (a bulk lock is one)."""
    holds: int
    """Seat holds the successful locks took (a bulk lock of three seats is three)."""
    booked: int
    """Seats booked by successful calls."""
    cancelled: int
    """Seat holds released by successful cancels."""
    expired: int
    """Seat holds neither booked nor cancelled, and not live in the final state (if given)."""
    released: int
    """Expired locks the cleanups reported releasing."""

    @property
    def ok(self) -> bool:
        """True when no violation was found."""
        return not self.violations

    def __bool__(self) -> bool:
        return not self.violations

    @property
    def kinds(self) -> set[Kind]:
        """The kinds of violation found."""
        return {violation.kind for violation in self.violations}

    def summary(self) -> str:
        """One line of figures and the verdict."""
        found = "no violation" if self.ok else f"{len(self.violations)} VIOLATIONS"
        return (
            f"{self.operations} operations ({self.refused} refused, {self.raised} raised, "
            f"{self.unknown} of unknown outcome); {self.locks} locks holding "
            f"{self.holds} seats, {self.booked} booked, {self.cancelled} cancelled, "
            f"{self.expired} expired, {self.released} released by cleanup: {found}"
        )

    def report(self, limit: int = 20) -> str:
        """The summary and the first ``limit`` violations, for a failing test's message."""
        lines = [self.summary(), *map(str, self.violations[:limit])]
        if len(self.violations) > limit:
            lines.append(f"... and {len(self.violations) - limit} more")
        return "\n".join(lines)


def check(
    operations: Iterable[Operation],
    final: Mapping[SeatId, SeatStatus] | None = None,
    *,
    released: int = 0,
    tolerance: float = DEFAULT_TOLERANCE,
) -> Verdict:
    """Check that a history is linearizable against SPEC.md's model; return the verdict.

    The model: each seat is ``AVAILABLE``, ``LOCKED`` by one user until a deadline, or
    ``BOOKED`` (terminal); each operation takes effect at one instant between its call and
    its return (a bulk one on all its seats at once), decides expiry by the store's clock
    then, and a successful lock gets a token larger than every earlier lock's on its seats
    and than every lock's that returned before it was called (locks of different seats
    that overlap in time may take their tokens in either order).

    What it assumes, beyond that model:

    1. **One real-time clock.** Every ``call``/``ret`` comes from one monotonic clock
       (``time.monotonic`` of one host; processes of one host share it). Equal times count
       as overlapping.
    2. **Store time.** Each operation reads the store's clock once, at an instant between its
       call and its return, and that clock never goes back in real time: if X returned
       before Y was called, X's store time ≤ Y's. A successful lock's store time is
       ``deadline - lock_timeout``; every other operation's is only bounded: from below by
       the latest lock time of the locks that returned before it was called, from above by
       the earliest of those called after it returned, and by the store clock read around
       the call (``Operation.store_window``) when recorded. A clock that steps back (the
       SQLite store's wall clock, SPEC §7) breaks this and shows as ``clock_went_back``.
    3. **Fates.** A call that returned a result happened as it says. One that raised
       :class:`~seatlock.NotPerformedError`, ``TypeError`` or ``ValueError`` did not happen.
       Any other exception (:class:`~seatlock.OutcomeUnknownError` above all) may have taken
       effect at any instant after its call, or never, with a result nobody saw.
    4. **Start.** Every seat starts ``AVAILABLE`` (a fresh event) and only recorded calls
       change it. ``UNKNOWN_SEAT`` answers are not checked.
    5. **Slack.** Store times are compared with ``tolerance`` seconds of slack, always in
       the direction that does not report a violation (deadlines pass through floats,
       and some stores round them).

    What it guarantees: **soundness** — every check is a necessary condition of a
    linearization under these assumptions, so a correct store never gets a violation. It
    is not complete (deciding linearizability exactly is NP-hard); it checks each seat on
    its own, with bulk locks sharing one token and time, and catches the classic faults:
    double booking, a lock taken while another is surely live, booking or cancelling by a
    non-holder or after expiry, a hold released twice, refusals no state explains, token
    order against real time, lost or unconfirmed bookings, partial bulk bookings, and
    cleanups that count more expiries than there were.

    How: a seat's successful locks are ordered by token, which must be their linearization
    order; they cut the seat's time into *slots* (slot *i* follows its *i*-th hold).
    Every successful book or cancel must fit a slot of a hold of its user that may still be
    live, one release per slot (a bipartite matching); every hold that the next lock took
    over before its deadline needs such a cancel; every refusal, and every seat a failed
    bulk call did not list, must match a state the seat may be in at some slot the call may
    fall in.

    Args:
        operations: every lock, book and cancel call made on the event (any order).
        final: the seats' statuses read after every call returned, if at hand.
        released: the sum of what the history's cleanups returned.
        tolerance: slack, in seconds, when comparing store times.
    """
    return _Checker(list(operations), tolerance).run(final, released)


@dataclass(eq=False)
class _Call:
    """An operation as the checker sees it."""

    op: Operation
    ret: float
    """When it returned, or infinity when it may take effect at any time after its call."""
    done: bool
    """It returned a well-formed result (else its outcome is unknown)."""
    lo: float = -_INF
    """Its store time is at least this."""
    hi: float = _INF
    """Its store time is at most this."""

    @property
    def call(self) -> float:
        return self.op.call

    @property
    def time(self) -> float:
        """A successful lock's store time."""
        assert self.op.deadline is not None
        return self.op.deadline - self.op.lock_timeout


@dataclass(eq=False)
class _Hold:
    """A seat's hold by one successful lock, in token order."""

    lock: _Call
    user: UserId
    time: float
    deadline: float


@dataclass
class _Seat:
    """What the history says about one seat."""

    holds: list[_Hold] = field(default_factory=list)
    releases: list[_Call] = field(default_factory=list)
    """Successful books and cancels."""
    maybe: list[_Call] = field(default_factory=list)
    """Locks, books and cancels of unknown outcome."""
    refusals: list[tuple[_Call, Reason, UserId | None]] = field(default_factory=list)
    """Failed calls and what each saw here: ``NOT_LOCKED`` (free, or its lock expired),
    ``HELD_BY_*`` (held by the holder named) or ``ALREADY_BOOKED``."""


class _Checker:
    """One run of :func:`check`: the event-wide checks, then each seat's."""

    def __init__(self, operations: list[Operation], tolerance: float) -> None:
        self.operations = operations
        self.tol = tolerance
        self.violations: list[Violation] = []
        self.calls: list[_Call] = []
        for operation in operations:
            if operation.reason is None:
                if operation.unknown:
                    self.calls.append(_Call(operation, _INF, done=False))
                continue
            problem = _malformed(operation)
            if problem:
                self.flag(Kind.MALFORMED_RESULT, None, problem, operation)
            done = not problem
            self.calls.append(_Call(operation, operation.ret if done else _INF, done))
        self.locks = sorted(
            (c for c in self.calls if c.done and c.op.ok and c.op.op in LOCKS),
            key=lambda c: c.op.token or 0,
        )

    def flag(self, kind: Kind, seat_id: SeatId | None, detail: str, *ops: Operation) -> None:
        self.violations.append(Violation(kind, seat_id, detail, ops))

    def run(self, final: Mapping[SeatId, SeatStatus] | None, released: int) -> Verdict:
        self.check_tokens()
        self.check_lock_times()
        self.bound_store_times()
        seats = self.by_seat()
        for seat_id, seat in seats.items():
            _SeatCheck(self, seat_id, seat).run()
        live = self.check_final(seats, final) if final is not None else 0
        holds = sum(len(s.holds) for s in seats.values())
        books = [c for c in self.calls if c.done and c.op.ok and c.op.op in BOOKS]
        cancels = [c for c in self.calls if c.done and c.op.ok and c.op.op in CANCELS]
        booked = len({s for c in books for s in c.op.seat_ids})
        cancelled = sum(len(c.op.seat_ids) for c in cancels)
        unreleased = (
            holds
            - booked
            - cancelled
            + sum(len(c.op.seat_ids) for c in self.calls if not c.done and c.op.op in LOCKS)
        )
        expirable = max(0, unreleased - live)
        if released > expirable:
            self.flag(
                Kind.CLEANUP_OVERCOUNT,
                None,
                f"cleanups released {released} locks, but at most {expirable} "
                "holds ended neither booked, cancelled nor live",
            )
        raised = [op for op in self.operations if op.reason is None]
        return Verdict(
            violations=tuple(self.violations),
            operations=len(self.operations),
            refused=sum(op.reason not in (None, Reason.OK) for op in self.operations),
            raised=len(raised),
            unknown=sum(op.unknown for op in raised),
            locks=len(self.locks),
            holds=holds,
            booked=booked,
            cancelled=cancelled,
            expired=max(0, holds - booked - cancelled - live),
            released=released,
        )

    def check_tokens(self) -> None:
        """Tokens are unique, and larger for a lock called after another returned."""
        locks = self.locks
        for a, b in pairwise(locks):
            if a.op.token == b.op.token:
                self.flag(Kind.TOKEN_ORDER, None, "two locks got one token", a.op, b.op)
        earliest: _Call | None = None  # returned first among the larger tokens
        for b in reversed(locks):
            if earliest is not None and earliest.ret < b.call:
                self.flag(
                    Kind.TOKEN_ORDER,
                    None,
                    "a lock returned before another was called, yet has the larger token",
                    earliest.op,
                    b.op,
                )
            if earliest is None or b.ret < earliest.ret:
                earliest = b

    def check_lock_times(self) -> None:
        """Lock times never go back in real time and lie within the store clock reads."""
        by_ret = sorted(self.locks, key=lambda c: c.ret)
        latest: _Call | None = None
        i = 0
        for b in sorted(self.locks, key=lambda c: c.call):
            while i < len(by_ret) and by_ret[i].ret < b.call:
                if latest is None or by_ret[i].time > latest.time:
                    latest = by_ret[i]
                i += 1
            if latest is not None and latest.time > b.time + self.tol:
                self.flag(
                    Kind.CLOCK_WENT_BACK,
                    None,
                    f"a lock at store time {b.time} was called after one at {latest.time} returned",
                    latest.op,
                    b.op,
                )
            window = b.op.store_window
            if window is not None and not window[0] - self.tol <= b.time <= window[1] + self.tol:
                self.flag(
                    Kind.CLOCK_WENT_BACK,
                    None,
                    f"lock time {b.time} (deadline - lock_timeout) is outside the store "
                    f"clock read around the call, {window}",
                    b.op,
                )

    def bound_store_times(self) -> None:
        """Bound every call's store time by the lock times before and after it (assumption 2)."""
        by_ret = sorted(self.locks, key=lambda c: c.ret)
        rets = [c.ret for c in by_ret]
        floor = [-_INF, *accumulate((c.time for c in by_ret), max)]
        by_call = sorted(self.locks, key=lambda c: c.call)
        calls = [c.call for c in by_call]
        ceiling = [*reversed(list(accumulate((c.time for c in reversed(by_call)), min))), _INF]
        for c in self.calls:
            c.lo = floor[bisect_left(rets, c.call)]
            c.hi = ceiling[bisect_right(calls, c.ret)]
            window = c.op.store_window
            if window is not None:
                c.lo = max(c.lo, window[0])
                if c.done:
                    c.hi = min(c.hi, window[1])

    def by_seat(self) -> dict[SeatId, _Seat]:
        """Sort every call's part onto its seats; holds in token order."""
        seats: dict[SeatId, _Seat] = defaultdict(_Seat)
        for lock in self.locks:
            for seat_id in lock.op.seat_ids:
                assert lock.op.deadline is not None
                seats[seat_id].holds.append(
                    _Hold(lock, lock.op.user_id, lock.time, lock.op.deadline)
                )
        for c in self.calls:
            op = c.op
            if not c.done:
                for seat_id in op.seat_ids:
                    seats[seat_id].maybe.append(c)
            elif op.ok:
                if op.op not in LOCKS:
                    for seat_id in op.seat_ids:
                        seats[seat_id].releases.append(c)
            else:
                listed = {conflict.seat_id: conflict for conflict in op.conflicts}
                # A seat a failed bulk call did not list would have let it succeed.
                unlisted = (
                    (Reason.NOT_LOCKED, None)
                    if op.op in LOCKS
                    else (Reason.HELD_BY_YOU, op.user_id)
                )
                for seat_id in op.seat_ids:
                    conflict = listed.get(seat_id)
                    seen = unlisted if conflict is None else (conflict.reason, conflict.holder)
                    if seen[0] is not Reason.UNKNOWN_SEAT:
                        seats[seat_id].refusals.append((c, *seen))
        return seats

    def check_final(self, seats: Mapping[SeatId, _Seat], final: Mapping[SeatId, SeatStatus]) -> int:
        """Check the final state against the confirmed calls; return the seats held live."""
        live = 0
        partial: dict[int, list[SeatId]] = defaultdict(list)
        for seat_id, status in final.items():
            seat = seats.get(seat_id, _Seat())
            books = [c for c in seat.releases if c.op.op in BOOKS]
            booked = status.state is SeatState.BOOKED
            for book in books:
                if booked and status.holder == book.op.user_id:
                    continue
                if book.op.op is Op.BOOK_BULK:
                    partial[id(book)].append(seat_id)
                else:
                    self.flag(
                        Kind.LOST_BOOKING, seat_id, f"final state is {_show(status)}", book.op
                    )
            if (
                booked
                and not books
                and not any(c.op.op in BOOKS and c.op.user_id == status.holder for c in seat.maybe)
            ):
                self.flag(
                    Kind.UNCONFIRMED_BOOKING,
                    seat_id,
                    f"booked by {status.holder!r} in the final state, but no call booked it",
                )
            if status.state is SeatState.LOCKED:
                live += 1
                self.check_final_hold(seat_id, seat, status)
        for book in (c for c in self.calls if id(c) in partial):
            missing = partial[id(book)]
            kind = Kind.LOST_BOOKING if len(missing) == len(book.op.seat_ids) else Kind.PARTIAL_BULK
            self.flag(
                kind, None, f"seats {missing!r} are not booked by its user at the end", book.op
            )
        return live

    def check_final_hold(self, seat_id: SeatId, seat: _Seat, status: SeatStatus) -> None:
        """A seat locked at the end is held by its last hold, not released since."""
        if any(c.op.op in LOCKS and c.op.user_id == status.holder for c in seat.maybe):
            return
        last = seat.holds[-1] if seat.holds else None
        if last is None or (last.lock.op.token, last.user) != (status.token, status.holder):
            ops = () if last is None else (last.lock.op,)
            self.flag(
                Kind.FINAL_HOLD, seat_id, f"final state is {_show(status)}, not the last hold", *ops
            )
        elif status.deadline is None or abs(status.deadline - last.deadline) > self.tol:
            self.flag(Kind.FINAL_HOLD, seat_id, f"final state is {_show(status)}", last.lock.op)
        else:
            ended = [
                c for c in seat.releases if c.op.user_id == last.user and c.call > last.lock.ret
            ]
            if ended:
                self.flag(
                    Kind.FINAL_HOLD,
                    seat_id,
                    "the last hold is still there after it was released",
                    last.lock.op,
                    *(c.op for c in ended),
                )


class _SeatCheck:
    """The checks of one seat: bookings, releases matched to holds, takeovers, refusals."""

    def __init__(self, checker: _Checker, seat_id: SeatId, seat: _Seat) -> None:
        self.checker = checker
        self.tol = checker.tol
        self.seat_id = seat_id
        self.seat = seat
        self.holds = seat.holds
        # A call that returned by afters[i] cannot follow hold i; one called after
        # befores[i] follows it (holds of a seat are in token order, so in linearization order).
        self.afters = list(accumulate((h.lock.call for h in seat.holds), max))
        self.befores = list(
            reversed(list(accumulate((h.lock.ret for h in reversed(seat.holds)), min)))
        )
        self.books = [c for c in seat.releases if c.op.op in BOOKS]

    def flag(self, kind: Kind, detail: str, *ops: Operation) -> None:
        self.checker.flag(kind, self.seat_id, detail, *ops)

    def slots(self, c: _Call) -> range:
        """The slots ``c`` may fall in: slot i follows the seat's i-th hold (0: before any)."""
        first = bisect_left(self.befores, c.call)  # holds that surely precede c
        last = bisect_right(self.afters, c.ret)  # holds that may precede c
        return range(first, last + 1)

    def hold(self, slot: int) -> _Hold:
        return self.holds[slot - 1]

    def run(self) -> None:
        flagged = self.check_bookings()
        candidates = self.match_releases(flagged)
        self.check_refusals(candidates)

    def check_bookings(self) -> set[int]:
        """One booking at most, and nothing succeeds after it; return the ids of the calls
        already reported, which the release matching then need not explain."""
        flagged: set[int] = set()
        if len(self.books) > 1:
            self.flag(Kind.DOUBLE_BOOKING, "booked by two calls", *(c.op for c in self.books))
            flagged.update(id(c) for c in self.books[1:])
        for book in self.books:
            later = [h.lock for h in self.holds if h.lock.call > book.ret]
            later += [c for c in self.seat.releases if c.op.op in CANCELS and c.call > book.ret]
            if later:
                self.flag(
                    Kind.CHANGED_AFTER_BOOKING,
                    "calls succeeded after the booking returned",
                    book.op,
                    *(c.op for c in later),
                )
                flagged.update(id(c) for c in later)
                flagged.add(id(book))
        return flagged

    def candidates(self, c: _Call) -> list[int]:
        """The slots where release ``c`` may end a hold of its user that may be live."""
        n = len(self.holds)
        last_only = c.op.op in BOOKS
        return [
            i
            for i in self.slots(c)
            if i
            and self.hold(i).user == c.op.user_id
            and c.lo < self.hold(i).deadline + self.tol
            and (i == n or not last_only)
        ]

    def match_releases(self, flagged: set[int]) -> dict[int, list[int]]:
        """Match successful books and cancels to the holds they end; each hold that the next
        lock took over before its deadline needs a cancel. Return every release's slots
        (known and unknown-outcome ones), by call id."""
        seat, holds = self.seat, self.holds
        releases = seat.releases + [c for c in seat.maybe if c.op.op not in LOCKS]
        cands = {id(c): self.candidates(c) for c in releases}
        maybe_locks = [c for c in seat.maybe if c.op.op in LOCKS]
        must = [
            c
            for c in seat.releases
            if id(c) not in flagged
            and not any(m.op.user_id == c.op.user_id and m.call <= c.ret for m in maybe_locks)
        ]
        owner = _matching([cands[id(c)] for c in must])
        matched = set(owner.values())
        for k, c in enumerate(must):
            if k not in matched:
                self.unmatched(c, [must[j] for i, j in owner.items() if i in cands[id(c)]])
        taken_over = [
            i
            for i in range(1, len(holds))
            if holds[i].time < holds[i - 1].deadline - self.tol  # the next lock came early
        ]
        cancels = [c for c in releases if c.op.op in CANCELS]
        fits = [[k for k, c in enumerate(cancels) if i in cands[id(c)]] for i in taken_over]
        covered = _matching(fits)
        stolen = set(range(len(taken_over))) - set(covered.values())
        for k in sorted(stolen):
            i = taken_over[k]
            self.flag(
                Kind.LOCK_STOLEN,
                f"locked at store time {holds[i].time}, before the previous hold's deadline "
                f"{holds[i - 1].deadline}, and no cancel of it fits in between",
                holds[i - 1].lock.op,
                holds[i].lock.op,
            )
        return cands

    def unmatched(self, c: _Call, rivals: list[_Call]) -> None:
        """Report a successful book or cancel that no hold explains, with the likely why."""
        slots = [i for i in self.slots(c) if i]
        mine = [i for i in slots if self.hold(i).user == c.op.user_id]
        live = [i for i in mine if c.lo < self.hold(i).deadline + self.tol]
        what = c.op.op.value
        if live and c.op.op in BOOKS and len(self.holds) not in live:
            self.flag(
                Kind.CHANGED_AFTER_BOOKING,
                "a lock was granted after this booking",
                c.op,
                self.holds[-1].lock.op,
            )
        elif live:
            self.flag(
                Kind.RELEASED_TWICE,
                f"{what} found no hold left to end",
                c.op,
                *(r.op for r in rivals),
            )
        elif mine:
            self.flag(
                Kind.AFTER_EXPIRY,
                f"{what} at store time >= {c.lo}, after the deadline of the user's hold",
                c.op,
                *(self.hold(i).lock.op for i in mine),
            )
        else:
            self.flag(
                Kind.NOT_HOLDER,
                f"{what} by a user who held no lock on the seat then",
                c.op,
                *(self.hold(i).lock.op for i in slots),
            )

    def check_refusals(self, candidates: dict[int, list[int]]) -> None:
        """Each refusal (and each seat a failed bulk call did not list) sees a possible state."""
        seat = self.seat
        confirmed = set(map(id, seat.releases))
        ends: dict[int, float] = {}  # slot -> when a release surely in that slot returned
        freed: dict[int, float] = {}  # slot -> the earliest call of a cancel that may be in it
        for c in [*seat.releases, *(m for m in seat.maybe if m.op.op not in LOCKS)]:
            slots = candidates[id(c)]
            if len(slots) == 1 and id(c) in confirmed:
                ends[slots[0]] = min(ends.get(slots[0], _INF), c.ret)
            if c.op.op in CANCELS:
                for i in slots:
                    freed[i] = min(freed.get(i, _INF), c.call)
        books = [*self.books, *(m for m in seat.maybe if m.op.op in BOOKS)]
        for c, reason, holder in seat.refusals:
            op = c.op
            if reason is Reason.ALREADY_BOOKED:
                if not any(b.call <= c.ret for b in books):
                    self.flag(Kind.UNEXPLAINED_RESULT, "reported booked before any booking", op)
                continue
            surely_booked = [b for b in self.books if b.ret < c.call]
            if surely_booked:
                self.flag(
                    Kind.UNEXPLAINED_RESULT,
                    "did not report the seat booked, after its booking returned",
                    surely_booked[0].op,
                    op,
                )
            elif reason in _HELD:
                if not self.may_be_held(c, holder, ends):
                    self.flag(
                        Kind.UNEXPLAINED_RESULT,
                        f"saw the seat held by {holder!r}, but no hold of theirs can be live then",
                        op,
                    )
            elif not self.may_be_free(c, freed):
                self.flag(
                    Kind.UNEXPLAINED_RESULT,
                    "saw the seat free (or its lock expired) while a hold was surely live",
                    op,
                    *(self.hold(i).lock.op for i in self.slots(c) if i),
                )

    def may_be_held(self, c: _Call, holder: UserId | None, ends: Mapping[int, float]) -> bool:
        """Whether ``holder`` may hold the seat live at ``c``'s instant."""
        if any(
            m.op.op in LOCKS and m.op.user_id == holder and m.call <= c.ret for m in self.seat.maybe
        ):
            return True
        return any(
            self.hold(i).user == holder
            and c.lo < self.hold(i).deadline + self.tol
            and not ends.get(i, _INF) < c.call
            for i in self.slots(c)
            if i
        )

    def may_be_free(self, c: _Call, freed: Mapping[int, float]) -> bool:
        """Whether the seat may be free (never locked, expired or cancelled) at ``c``'s instant."""
        return any(
            i == 0 or c.hi >= self.hold(i).deadline - self.tol or freed.get(i, _INF) <= c.ret
            for i in self.slots(c)
        )


def _matching(candidates: Sequence[Sequence[int]]) -> dict[int, int]:
    """A maximum bipartite matching: each left node ``k`` to one of ``candidates[k]``,
    no right node twice. Returns right node → left node (augmenting paths, by BFS)."""
    owner: dict[int, int] = {}
    mate: dict[int, int] = {}
    for start in range(len(candidates)):
        reached: dict[int, int] = {}  # right node -> the left node that reached it
        queue = [start]
        free: int | None = None
        for left in queue:
            for right in candidates[left]:
                if right in reached:
                    continue
                reached[right] = left
                if right not in owner:
                    free = right
                    break
                queue.append(owner[right])
            if free is not None:
                break
        node = free
        while node is not None:  # flip the path back to start
            back = reached[node]
            previous = mate.get(back)
            owner[node], mate[back] = back, node
            node = None if back == start else previous
    return owner


def _malformed(op: Operation) -> str:
    """What is wrong with a result on its face, or ``""``."""
    if op.ok:
        if op.conflicts:
            return "a successful result lists conflicts"
        if op.op in LOCKS and (
            type(op.token) is not int or not isinstance(op.deadline, (int, float))
        ):
            return "a successful lock without an int token and a deadline"
        return ""
    conflicts = op.conflicts
    seats = [c.seat_id for c in conflicts]
    if not conflicts or op.reason is not conflicts[0].reason:
        return "a refusal whose reason is not its first conflict's"
    order = {seat_id: k for k, seat_id in enumerate(op.seat_ids)}
    if any(s not in order for s in seats) or [order[s] for s in seats] != sorted(
        {order[s] for s in seats}
    ):
        return "conflicts not on the call's seats, once each, in the caller's order"
    for c in conflicts:
        if c.reason is Reason.OK:
            return "a conflict with reason OK"
        if c.reason is Reason.HELD_BY_YOU and (op.op not in LOCKS or c.holder != op.user_id):
            return "held_by_you outside a lock, or not naming the caller"
        if c.reason is Reason.HELD_BY_OTHER and (c.holder is None or c.holder == op.user_id):
            return "held_by_other naming no holder, or the caller"
        if c.reason is Reason.NOT_LOCKED and op.op in LOCKS:
            return "not_locked in a lock"
    return ""


def _show(status: SeatStatus) -> str:
    if status.state is SeatState.LOCKED:
        return f"LOCKED by {status.holder!r} (token {status.token}, deadline {status.deadline})"
    if status.state is SeatState.BOOKED:
        return f"BOOKED by {status.holder!r}"
    return "AVAILABLE"
