"""The in-process store (``memory://``): fast, private to its manager, lost on exit.

Layout, per event (:class:`MemoryEvent`): ``state`` maps every seat id to ``_FREE``,
``_BOOKED`` or the deadline (a float) of its last lock, live or expired; ``holder`` maps a
locked seat to its holder and a booked seat to who booked it; ``token`` maps a locked seat
to its lock's token. Expired locks stay until a new lock replaces them or cleanup
releases them.

Cleanup is O(expired): each lock's (seat, deadline) goes on a queue in deadline order
(``due_seats``/``due_times`` from ``due_head`` on; deadlines only grow while the timeout
is fixed and the clock monotonic; one that does not, say after a clock step back, goes
on the ``late`` heap instead). An entry whose seat has since got another deadline is
stale and dropped when met. Every operation holds the event's mutex, so the store is
correct without the GIL (free-threaded CPython).

The six seat operations have two implementations on this one layout: the C extension
``_memory_core`` (built with the package when a compiler is at hand; the default) and
pure Python (:class:`MemoryEventStore`, always there). ``memory://?engine=python``
chooses the second, and so does the environment variable ``SEATLOCK_MEMORY_ENGINE=python``
for stores that do not say. Everything else (refusals of bulk calls, the late heap, compaction,
cleanup, reads) is the Python here, for both: C calls it with the mutex held.
"""

from __future__ import annotations

import heapq
import os
import threading
import time
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, cast
from urllib.parse import parse_qsl, urlsplit

from ..results import (
    Op,
    Reason,
    Result,
    SeatId,
    UserId,
    bulk_failure,
    bulk_label,
)
from ..rules import lock_conflict, release_conflict
from ..seat import SeatState, SeatStatus
from ..validation import (
    INT_ID_LIMIT,
    check_seat_id,
    check_seat_ids,
    check_user_id,
    text_twin,
    twin_error,
)
from .base import Clock, EventStore, Store

if TYPE_CHECKING:
    from . import _memory_core

_core: ModuleType | None
try:
    from . import _memory_core as _core
except ImportError:  # not built: pure Python only
    _core = None

# Enum members as module constants: a global is several times faster to read than
# ``Reason.OK`` (an attribute of an enum class), and this module is the hot path.
_FREE, _LOCKED, _BOOKED = SeatState
_OK, _UNKNOWN, _IS_BOOKED, _HELD_BY_OTHER, _HELD_BY_YOU, _NOT_LOCKED = Reason
_LOCK, _LOCK_BULK, _BOOK, _BOOK_BULK, _CANCEL, _CANCEL_BULK = Op
_CLEANUP_CHUNK = 1024
"""Cleanup releases the mutex after this many queue entries, so others get a turn."""
_COMPACT_AT = 4096
"""The expiry queue is compacted when it passes this many entries plus twice the seats."""

ENGINES = ("c", "python") if _core is not None else ("python",)
"""The implementations of the seat operations this install has, the default first."""


class MemoryStore(Store):
    """Events kept in this process's memory. ``memory://`` gives each manager its own.

    Args:
        engine: ``"c"`` (the compiled operations, the default where built) or
            ``"python"``; both keep the same contract. ``None``: the environment variable
            ``SEATLOCK_MEMORY_ENGINE`` if set, else the first of :data:`ENGINES`.
    """

    def __init__(self, engine: str | None = None) -> None:
        if engine is None:
            engine = os.environ.get("SEATLOCK_MEMORY_ENGINE") or ENGINES[0]
        if engine not in ENGINES:
            raise ValueError(
                f"memory store engine {engine!r} is not available here; choose from {ENGINES}"
                + ("" if _core is not None else " (the C extension was not built)")
            )
        self.engine = engine
        self._events: dict[str, _Event] = {}
        self._mutex = threading.Lock()

    @classmethod
    def from_url(cls, url: str) -> MemoryStore:
        """A new, private store for ``memory://``, or ``memory://?engine=python``."""
        parts = urlsplit(url)
        options = dict(parse_qsl(parts.query, keep_blank_values=True))
        engine = options.pop("engine", None)
        if parts.netloc or parts.path.strip("/") or parts.fragment or options:
            raise ValueError(
                f"a memory store URL is 'memory://' or 'memory://?engine=python', not {url!r}"
            )
        return cls(engine)

    def open_event(self, event: str, lock_timeout: float, clock: Clock | None) -> EventStore:
        """The seats of ``event``; managers opening one event here share its seats."""
        compiled = self.engine == "c"
        with self._mutex:
            seats = self._events.get(event)
            if seats is None:
                seats = self._events[event] = _new_event(compiled)
        view = CompiledMemoryEventStore if compiled else MemoryEventStore
        return view(seats, lock_timeout, clock or time.monotonic)


class MemoryEvent:
    """One event's seat state and mutex, in pure Python (``_memory_core.EventCore`` is the
    same in C): the layout in the module docstring."""

    __slots__ = (
        "acquire",
        "compact_at",
        "due_head",
        "due_seats",
        "due_times",
        "holder",
        "last_due",
        "late",
        "late_count",
        "release",
        "state",
        "token",
        "tokens",
    )

    def __init__(self) -> None:
        mutex = threading.Lock()
        self.acquire: Callable[[], object] = mutex.acquire
        self.release: Callable[[], object] = mutex.release
        self.state: dict[SeatId, object] = {}
        self.holder: dict[SeatId, UserId] = {}
        self.token: dict[SeatId, int] = {}
        self.due_seats: list[SeatId] = []
        self.due_times: list[object] = []
        self.due_head = 0
        self.last_due: object = float("-inf")
        self.late: list[tuple[object, int, SeatId]] = []
        self.late_count = 0
        self.tokens = 0
        self.compact_at = _COMPACT_AT


_Event = MemoryEvent
"""What the helpers below take: a :class:`MemoryEvent` or an ``EventCore`` (same layout)."""


def _new_event(compiled: bool) -> _Event:
    if not compiled:
        return MemoryEvent()
    assert _core is not None
    event = cast(_Event, _core.EventCore())
    event.compact_at = _COMPACT_AT
    return event


# -- the slow paths, for both engines (the caller holds the event's mutex) -----------------


def _stored(ev: _Event, seat_id: SeatId) -> tuple[SeatState | None, UserId | None, float | None]:
    """A seat as the rules see it: (state, holder, deadline)."""
    current = ev.state.get(seat_id)
    if current is None or current is _FREE or current is _BOOKED:
        return current, None, None
    return _LOCKED, ev.holder[seat_id], cast(float, current)


def _lock_refused(ev: _Event, seat_ids: tuple[SeatId, ...], user_id: UserId, now: float) -> Result:
    """The result of a bulk lock that a seat stopped: every conflict, in the caller's order."""
    conflicts = [lock_conflict(s, user_id, *_stored(ev, s), now) for s in seat_ids]
    return bulk_failure(_LOCK_BULK, seat_ids, user_id, [c for c in conflicts if c is not None])


def _release_refused(
    ev: _Event, op: Op, seat_ids: tuple[SeatId, ...], user_id: UserId, now: float
) -> Result:
    """The result of a bulk book or cancel (``op``) that a seat stopped."""
    conflicts = [release_conflict(s, user_id, *_stored(ev, s), now) for s in seat_ids]
    return bulk_failure(op, seat_ids, user_id, [c for c in conflicts if c is not None])


def _enqueue(ev: _Event, seat_ids: tuple[SeatId, ...], deadline: object) -> None:
    """Put a new lock's seats on the expiry queue."""
    if deadline >= ev.last_due:  # type: ignore[operator]
        ev.last_due = deadline
        ev.due_seats.extend(seat_ids)
        ev.due_times.extend([deadline] * len(seat_ids))
        if len(ev.due_seats) - ev.due_head > ev.compact_at:
            _compact(ev)
    else:
        _enqueue_late(ev, seat_ids, deadline)


def _enqueue_late(ev: _Event, seat_ids: tuple[SeatId, ...], deadline: object) -> None:
    """Put seats whose deadline is earlier than the queue's last on the late heap."""
    for seat_id in seat_ids:
        ev.late_count += 1
        heapq.heappush(ev.late, (deadline, ev.late_count, seat_id))
    if len(ev.late) > ev.compact_at:
        _compact(ev)


def _compact(ev: _Event) -> None:
    """Drop stale queue entries (their locks ended before cleanup met them).

    A seat has one current deadline, so at most one entry per seat is not stale. The
    queue is compacted when it passes twice the seat count: then at least half of it is
    stale, the work is O(1) per dropped entry, and memory stays O(seats).
    """
    state, head = ev.state, ev.due_head
    kept = [
        (s, d)
        for s, d in zip(ev.due_seats[head:], ev.due_times[head:], strict=True)
        if state.get(s) is d
    ]
    ev.due_seats = [s for s, _ in kept]
    ev.due_times = [d for _, d in kept]
    ev.due_head = 0
    ev.late = [e for e in ev.late if state.get(e[2]) is e[0]]
    heapq.heapify(ev.late)


if _core is not None:
    _core.configure(
        {
            "FREE": _FREE,
            "BOOKED": _BOOKED,
            **{f"OP_{op.name}": op for op in Op},
            **{reason.name: reason for reason in Reason},
            "Result": Result,
            "check_seat_id": check_seat_id,
            "check_user_id": check_user_id,
            "check_seat_ids": check_seat_ids,
            "bulk_label": bulk_label,
            "lock_refused": _lock_refused,
            "release_refused": _release_refused,
            "enqueue_late": _enqueue_late,
            "compact": _compact,
            "monotonic": time.monotonic,
        }
    )


class MemoryEventStore(EventStore):
    """One manager's access to an event's state in memory, in pure Python."""

    def __init__(self, event: _Event, lock_timeout: float, clock: Clock) -> None:
        self.lock_timeout = lock_timeout
        self._event = event
        self._clock = clock
        self._acquire = event.acquire
        self._release = event.release
        self._state = event.state
        self._holder = event.holder

    def add_seats(self, seat_ids: list[SeatId]) -> None:
        state = self._state
        self._acquire()
        try:
            new = [s for s in dict.fromkeys(seat_ids) if s not in state]
            for seat_id in new:
                twin = text_twin(seat_id)
                if twin is not None and twin in state:
                    raise twin_error(seat_id)
            for seat_id in new:
                state[seat_id] = _FREE
            self._event.compact_at = _COMPACT_AT + 2 * len(state)
        finally:
            self._release()

    # The single-seat calls check their own arguments (cheap type tests first), so the
    # manager can hand them to its caller directly: see ``direct_calls``.

    def direct_calls(self) -> dict[str, Callable[..., Result]]:
        return {"lock_seat": self.lock, "book_a_seat": self.book, "cancel_lock": self.cancel}

    def lock(self, seat_id: SeatId, user_id: UserId) -> Result:
        if type(seat_id) is not str and (
            type(seat_id) is not int or not -INT_ID_LIMIT < seat_id < INT_ID_LIMIT
        ):
            seat_id = check_seat_id(seat_id)
        if (
            type(user_id) is not str
            and (type(user_id) is not int or not -INT_ID_LIMIT < user_id < INT_ID_LIMIT)
        ) or user_id == "":
            user_id = check_user_id(user_id)
        self._acquire()
        try:
            current = self._state.get(seat_id)
            now = self._clock()
            if current is not _FREE and (
                current is None or current is _BOOKED or current > now  # type: ignore[operator]
            ):
                conflict = lock_conflict(seat_id, user_id, *_stored(self._event, seat_id), now)
                return Result(_LOCK, conflict.reason, seat_id, user_id, conflict.holder)  # type: ignore[union-attr]
            ev = self._event
            deadline = now + self.lock_timeout
            ev.tokens = token = ev.tokens + 1
            self._state[seat_id] = deadline
            self._holder[seat_id] = user_id
            ev.token[seat_id] = token
            if deadline >= ev.last_due:  # type: ignore[operator]  # _enqueue, inlined
                ev.last_due = deadline
                ev.due_seats.append(seat_id)
                ev.due_times.append(deadline)
                if len(ev.due_seats) - ev.due_head > ev.compact_at:
                    _compact(ev)
            else:
                _enqueue_late(ev, (seat_id,), deadline)
            return Result(_LOCK, _OK, seat_id, user_id, None, deadline, token)
        finally:
            self._release()

    def book(self, seat_id: SeatId, user_id: UserId) -> Result:
        if type(seat_id) is not str and (
            type(seat_id) is not int or not -INT_ID_LIMIT < seat_id < INT_ID_LIMIT
        ):
            seat_id = check_seat_id(seat_id)
        if (
            type(user_id) is not str
            and (type(user_id) is not int or not -INT_ID_LIMIT < user_id < INT_ID_LIMIT)
        ) or user_id == "":
            user_id = check_user_id(user_id)
        self._acquire()
        try:
            current = self._state.get(seat_id)
            now = self._clock()
            if (  # _may_release, inlined: this is a hot path
                current is None
                or current is _FREE
                or current is _BOOKED
                or current <= now  # type: ignore[operator]
                or self._holder[seat_id] != user_id
            ):
                return self._release_refused(_BOOK, seat_id, user_id, now)
            self._state[seat_id] = _BOOKED
            return Result(_BOOK, _OK, seat_id, user_id)
        finally:
            self._release()

    def cancel(self, seat_id: SeatId, user_id: UserId) -> Result:
        if type(seat_id) is not str and (
            type(seat_id) is not int or not -INT_ID_LIMIT < seat_id < INT_ID_LIMIT
        ):
            seat_id = check_seat_id(seat_id)
        if (
            type(user_id) is not str
            and (type(user_id) is not int or not -INT_ID_LIMIT < user_id < INT_ID_LIMIT)
        ) or user_id == "":
            user_id = check_user_id(user_id)
        self._acquire()
        try:
            now = self._clock()
            if not self._may_release(seat_id, user_id, now):
                return self._release_refused(_CANCEL, seat_id, user_id, now)
            self._state[seat_id] = _FREE
            del self._holder[seat_id]
            return Result(_CANCEL, _OK, seat_id, user_id)
        finally:
            self._release()

    def _may_release(self, seat_id: SeatId, user_id: UserId, now: float) -> bool:
        """Whether ``user_id`` holds ``seat_id`` live, so may book or cancel it."""
        current = self._state.get(seat_id)
        return (
            current is not None
            and current is not _FREE
            and current is not _BOOKED
            and current > now  # type: ignore[operator]
            and self._holder[seat_id] == user_id
        )

    def _release_refused(self, op: Op, seat_id: SeatId, user_id: UserId, now: float) -> Result:
        """The result of a book or cancel that ``_may_release`` refused (mutex held)."""
        conflict = release_conflict(seat_id, user_id, *_stored(self._event, seat_id), now)
        assert conflict is not None
        return Result(op, conflict.reason, seat_id, user_id, conflict.holder)

    def lock_many(self, seat_ids: tuple[SeatId, ...], user_id: UserId, label: object) -> Result:
        state, holders = self._state, self._holder
        self._acquire()
        try:
            now = self._clock()
            for seat_id in seat_ids:
                current = state.get(seat_id)
                if current is not _FREE and (
                    current is None or current is _BOOKED or current > now  # type: ignore[operator]
                ):
                    return _lock_refused(self._event, seat_ids, user_id, now)
            ev = self._event
            deadline = now + self.lock_timeout
            ev.tokens = token = ev.tokens + 1
            tokens = ev.token
            for seat_id in seat_ids:
                state[seat_id] = deadline
                holders[seat_id] = user_id
                tokens[seat_id] = token
            _enqueue(ev, seat_ids, deadline)
            return Result(_LOCK_BULK, _OK, seat_ids, user_id, label, deadline, token)
        finally:
            self._release()

    def book_many(self, seat_ids: tuple[SeatId, ...], user_id: UserId, label: object) -> Result:
        return self._release_many(_BOOK_BULK, _BOOKED, seat_ids, user_id, label)

    def cancel_many(self, seat_ids: tuple[SeatId, ...], user_id: UserId, label: object) -> Result:
        return self._release_many(_CANCEL_BULK, _FREE, seat_ids, user_id, label)

    def _release_many(
        self,
        op: Op,
        new_state: SeatState,
        seat_ids: tuple[SeatId, ...],
        user_id: UserId,
        label: object,
    ) -> Result:
        """Move every seat ``user_id`` holds live to ``new_state`` (booked or free), or none."""
        state, holders = self._state, self._holder
        self._acquire()
        try:
            now = self._clock()
            for seat_id in seat_ids:
                current = state.get(seat_id)
                if (
                    current is None
                    or current is _FREE
                    or current is _BOOKED
                    or current <= now  # type: ignore[operator]
                    or holders[seat_id] != user_id
                ):
                    return _release_refused(self._event, op, seat_ids, user_id, now)
            for seat_id in seat_ids:
                state[seat_id] = new_state
            if new_state is _FREE:
                for seat_id in seat_ids:
                    del holders[seat_id]
            return Result(op, _OK, seat_ids, user_id, label)
        finally:
            self._release()

    def cleanup(self) -> int:
        released = 0
        more = True
        while more:
            self._acquire()
            try:
                count, more = self._cleanup_chunk(self._clock())
                released += count
            finally:
                self._release()
        return released

    def _cleanup_chunk(self, now: float) -> tuple[int, bool]:
        """Release expired locks, one chunk of queue entries at most.

        Returns how many it released and whether the chunk ran out (more may be due).
        """
        ev = self._event
        seats, times, late = ev.due_seats, ev.due_times, ev.late
        released = 0
        budget = _CLEANUP_CHUNK
        head, end = ev.due_head, len(seats)
        while head < end and budget:
            budget -= 1
            due = self._expire(seats[head], times[head], now)
            if due is None:
                break
            released += due
            head += 1
        if head > end // 2:  # drop the consumed half: O(1) per entry over time
            del seats[:head], times[:head]
            head = 0
        ev.due_head = head
        while late and budget:
            budget -= 1
            deadline, _entry, seat_id = late[0]
            due = self._expire(seat_id, deadline, now)
            if due is None:
                break
            released += due
            heapq.heappop(late)
        return released, budget == 0

    def _expire(self, seat_id: SeatId, deadline: object, now: float) -> bool | None:
        """Handle one queue entry: ``None`` if its lock is not due yet (keep the entry);
        ``True`` if it was due and is now released; ``False`` if the entry is stale."""
        if self._state.get(seat_id) is not deadline:
            return False
        if deadline > now:  # type: ignore[operator]
            return None
        self._state[seat_id] = _FREE
        del self._holder[seat_id]
        return True

    def status(self, seat_id: SeatId) -> SeatStatus | None:
        self._acquire()
        try:
            current = self._state.get(seat_id)
            if current is None:
                return None
            if current is _BOOKED:
                return SeatStatus(seat_id, _BOOKED, self._holder[seat_id])
            now = self._clock()
            if current is _FREE or current <= now:  # type: ignore[operator]
                return SeatStatus(seat_id, _FREE)
            deadline: float = current  # type: ignore[assignment]
            return SeatStatus(
                seat_id,
                _LOCKED,
                self._holder[seat_id],
                deadline,
                deadline - now,
                self._event.token[seat_id],
            )
        finally:
            self._release()

    def state_of(self, seat_id: SeatId) -> SeatState:
        current = self._state.get(seat_id)
        if current is _FREE or current is _BOOKED:
            return current
        if current is None:
            return super().state_of(seat_id)
        return _LOCKED if current > self._clock() else _FREE  # type: ignore[operator]

    def _snapshot(self) -> tuple[list[tuple[SeatId, object]], float]:
        self._acquire()
        try:
            return list(self._state.items()), self._clock()
        finally:
            self._release()

    def seat_ids(self, state: SeatState | None = None) -> list[SeatId]:
        items, now = self._snapshot()
        if state is None:
            return [seat_id for seat_id, _ in items]
        return [seat_id for seat_id, current in items if _state(current, now) is state]

    def counts(self) -> dict[SeatState, int]:
        items, now = self._snapshot()
        counts = dict.fromkeys(SeatState, 0)
        for _, current in items:
            counts[_state(current, now)] += 1
        return counts


def _state(current: object, now: float) -> SeatState:
    """The state a ``_state`` value means at ``now``."""
    if current is _FREE or current is _BOOKED:
        return current
    return _LOCKED if current > now else _FREE  # type: ignore[operator]


class CompiledMemoryEventStore(MemoryEventStore):
    """:class:`MemoryEventStore` with the six seat operations in C (``_memory_core``)."""

    def __init__(self, event: _Event, lock_timeout: float, clock: Clock) -> None:
        super().__init__(event, lock_timeout, clock)
        assert _core is not None
        self._calls: _memory_core.Calls = _core.Calls(event, lock_timeout, clock)

    def direct_calls(self) -> dict[str, Callable[..., Result]]:
        calls = self._calls
        return {
            "lock_seat": calls.lock_seat,
            "book_a_seat": calls.book_a_seat,
            "cancel_lock": calls.cancel_lock,
            "lock_seats_bulk": calls.lock_seats_bulk,
            "book_seats_bulk": calls.book_seats_bulk,
            "cancel_locks_bulk": calls.cancel_locks_bulk,
        }

    def lock(self, seat_id: SeatId, user_id: UserId) -> Result:
        return self._calls.lock(seat_id, user_id)

    def book(self, seat_id: SeatId, user_id: UserId) -> Result:
        return self._calls.book(seat_id, user_id)

    def cancel(self, seat_id: SeatId, user_id: UserId) -> Result:
        return self._calls.cancel(seat_id, user_id)

    def lock_many(self, seat_ids: tuple[SeatId, ...], user_id: UserId, label: object) -> Result:
        return self._calls.lock_many(seat_ids, user_id, label)

    def book_many(self, seat_ids: tuple[SeatId, ...], user_id: UserId, label: object) -> Result:
        return self._calls.book_many(seat_ids, user_id, label)

    def cancel_many(self, seat_ids: tuple[SeatId, ...], user_id: UserId, label: object) -> Result:
        return self._calls.cancel_many(seat_ids, user_id, label)
