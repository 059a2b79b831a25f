"""A plain event store (a dict under one mutex) with one planted bug, or none.

Used to show that ``seatlock.testing.check`` catches what it should: with no bug the
store is a correct reference, and each bug breaks one rule of SPEC.md.
"""

from __future__ import annotations

import itertools
import threading
import time
from typing import Literal

from seatlock import Op, Reason, Result, SeatState, SeatStatus
from seatlock.results import Conflict, SeatId, UserId, bulk_failure
from seatlock.rules import live_state, lock_conflict, release_conflict
from seatlock.stores.base import Clock, EventStore, Store

Bug = Literal["steal", "book_any", "book_late", "partial", "racy", "lost", "token", "stale"]
BUGS: dict[Bug, str] = {
    "steal": "every third lock refused as held by another is granted anyway",
    "book_any": "a book ignores who holds the seat",
    "book_late": "a book by the holder ignores that the lock expired",
    "partial": "a bulk book books only its first seat",
    "racy": "checks under the mutex, lets go of it, then writes",
    "lost": "every third booking is answered but not written",
    "token": "tokens count per seat, not per event",
    "stale": "a lock sees a lock as live until half a timeout after its deadline",
}
_LOCKS = (Op.LOCK, Op.LOCK_BULK)
_BULK = (Op.LOCK_BULK, Op.BOOK_BULK, Op.CANCEL_BULK)

Row = tuple[SeatState, UserId | None, float | None, int | None]
"""A seat: state, holder, deadline, token."""


class PlantedStore(Store):
    """One event's seats, shared by every manager opened on this store object."""

    def __init__(self, bug: Bug | None = None) -> None:
        self.bug = bug
        self.seats: dict[SeatId, Row] = {}
        self.mutex = threading.Lock()
        self.tokens = itertools.count(1)
        self.chances = itertools.count(1)
        """Counts the bug's chances to strike (the steal and lost bugs strike every third)."""

    @classmethod
    def from_url(cls, url: str) -> PlantedStore:
        raise NotImplementedError("a test store: build it directly")

    def open_event(self, event: str, lock_timeout: float, clock: Clock | None) -> EventStore:
        return PlantedEvent(self, lock_timeout, clock or time.monotonic)


class PlantedEvent(EventStore):
    """A manager's view of a :class:`PlantedStore`."""

    def __init__(self, store: PlantedStore, lock_timeout: float, clock: Clock) -> None:
        self.store = store
        self.lock_timeout = lock_timeout
        self.clock = clock

    def add_seats(self, seat_ids: list[SeatId]) -> None:
        with self.store.mutex:
            for seat_id in seat_ids:
                self.store.seats.setdefault(seat_id, (SeatState.AVAILABLE, None, None, None))

    def lock(self, seat_id: SeatId, user_id: UserId) -> Result:
        return self.apply(Op.LOCK, (seat_id,), user_id, None)

    def lock_many(self, seat_ids: tuple[SeatId, ...], user_id: UserId, label: object) -> Result:
        return self.apply(Op.LOCK_BULK, seat_ids, user_id, label)

    def book(self, seat_id: SeatId, user_id: UserId) -> Result:
        return self.apply(Op.BOOK, (seat_id,), user_id, None)

    def book_many(self, seat_ids: tuple[SeatId, ...], user_id: UserId, label: object) -> Result:
        return self.apply(Op.BOOK_BULK, seat_ids, user_id, label)

    def cancel(self, seat_id: SeatId, user_id: UserId) -> Result:
        return self.apply(Op.CANCEL, (seat_id,), user_id, None)

    def cancel_many(self, seat_ids: tuple[SeatId, ...], user_id: UserId, label: object) -> Result:
        return self.apply(Op.CANCEL_BULK, seat_ids, user_id, label)

    def apply(self, op: Op, seat_ids: tuple[SeatId, ...], user_id: UserId, label: object) -> Result:
        store, bug = self.store, self.store.bug
        subject = seat_ids if op in _BULK else seat_ids[0]
        store.mutex.acquire()
        try:
            now = self.clock()
            conflicts = [c for s in seat_ids if (c := self.conflict(op, s, user_id, now))]
            if conflicts:
                if op in _BULK:
                    return bulk_failure(op, seat_ids, user_id, conflicts)
                return Result(op, conflicts[0].reason, subject, user_id, conflicts[0].holder)
            if bug == "racy":  # let others in between the check and the write
                store.mutex.release()
                time.sleep(0.0005)
                store.mutex.acquire()
            if op in _LOCKS:
                deadline = now + self.lock_timeout
                token = next(store.tokens)
                for seat_id in seat_ids:
                    if bug == "token":
                        token = (store.seats[seat_id][3] or 0) + 1
                    store.seats[seat_id] = (SeatState.LOCKED, user_id, deadline, token)
                return Result(op, Reason.OK, subject, user_id, label, deadline, token)
            if op in (Op.BOOK, Op.BOOK_BULK):
                lost = bug == "lost" and next(store.chances) % 3 == 0
                written = seat_ids[:1] if bug == "partial" else () if lost else seat_ids
                for seat_id in written:
                    store.seats[seat_id] = (SeatState.BOOKED, user_id, None, None)
            else:
                for seat_id in seat_ids:
                    store.seats[seat_id] = (SeatState.AVAILABLE, None, None, None)
            return Result(op, Reason.OK, subject, user_id, label)
        finally:
            store.mutex.release()

    def conflict(self, op: Op, seat_id: SeatId, user_id: UserId, now: float) -> Conflict | None:
        """Why ``op`` may not touch the seat: the rules, unless the planted bug says otherwise."""
        store, bug = self.store, self.store.bug
        state, holder, deadline, _ = store.seats.get(seat_id, (None, None, None, None))
        if op in _LOCKS:
            seen = deadline + self.lock_timeout / 2 if bug == "stale" and deadline else deadline
            found = lock_conflict(seat_id, user_id, state, holder, seen, now)
            if (
                bug == "steal"
                and found is not None
                and found.reason is Reason.HELD_BY_OTHER
                and next(store.chances) % 3 == 0
            ):
                return None
            return found
        found = release_conflict(seat_id, user_id, state, holder, deadline, now)
        if found is not None and op in (Op.BOOK, Op.BOOK_BULK):
            if bug == "book_any" and found.reason is Reason.HELD_BY_OTHER:
                return None
            if (
                bug == "book_late"
                and found.reason is Reason.NOT_LOCKED
                and state is SeatState.LOCKED
                and holder == user_id
            ):
                return None
        return found

    def cleanup(self) -> int:
        with self.store.mutex:
            now = self.clock()
            due = [
                s
                for s, (state, _, deadline, _) in self.store.seats.items()
                if state is SeatState.LOCKED
                and live_state(state, deadline, now) is SeatState.AVAILABLE
            ]
            for seat_id in due:
                self.store.seats[seat_id] = (SeatState.AVAILABLE, None, None, None)
            return len(due)

    def status(self, seat_id: SeatId) -> SeatStatus | None:
        with self.store.mutex:
            row = self.store.seats.get(seat_id)
            if row is None:
                return None
            state, holder, deadline, token = row
            now = self.clock()
            live = live_state(state, deadline, now)
        if live is SeatState.LOCKED:
            assert deadline is not None
            return SeatStatus(seat_id, live, holder, deadline, deadline - now, token)
        if live is SeatState.BOOKED:
            return SeatStatus(seat_id, live, holder)
        return SeatStatus(seat_id, SeatState.AVAILABLE)

    def seat_ids(self, state: SeatState | None = None) -> list[SeatId]:
        with self.store.mutex:
            now = self.clock()
            return [
                s
                for s, (st, _, deadline, _) in self.store.seats.items()
                if state is None or live_state(st, deadline, now) is state
            ]

    def counts(self) -> dict[SeatState, int]:
        return {state: len(self.seat_ids(state)) for state in SeatState}
