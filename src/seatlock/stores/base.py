"""The store contract: what every store (memory, SQLite, PostgreSQL, Redis) keeps.

A :class:`Store` is a place seat state lives (and, for a server store, its connections).
It holds many events; :meth:`Store.open_event` gives an :class:`EventStore`, one event's
seats, which the :class:`~seatlock.SeatManager` drives. The rules are SPEC.md's:

* States: a seat is ``AVAILABLE``, ``LOCKED`` (one holder, until a deadline) or
  ``BOOKED`` (terminal). Only the live holder books or cancels.
* Expiry: a lock taken at ``t`` is no lock from ``t + lock_timeout`` on, for every
  operation, whether or not cleanup ran. Only a new lock replaces an expired one;
  :meth:`EventStore.cleanup` releases the rest and counts them, in O(expired).
* Atomicity: every method is one atomic step (one round trip on a server store). Bulk
  methods check every seat first, report every conflict in the caller's order, and then
  change all seats with one timestamp, or none.
* Precedence for one seat: lock — unknown, booked, held live; book — unknown, booked,
  not locked, held by another; cancel — unknown, booked, not locked, held by another.
* Tokens: each successful lock (a bulk lock is one) gets a token larger than every
  earlier lock's in the event.
* Arguments reach a store already checked (:mod:`seatlock.validation`): plain ids, a
  non-empty user id, bulk ids as a duplicate-free tuple.
* Failures: a store raises :class:`~seatlock.errors.NotPerformedError` or
  :class:`~seatlock.errors.OutcomeUnknownError`, never a partial write.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

from ..errors import UnknownSeatError
from ..results import Result, SeatId, UserId
from ..seat import SeatState, SeatStatus

Clock = Callable[[], float]


class EventStore(ABC):
    """One event's seats in a store. Every method is atomic and thread-safe."""

    lock_timeout: float
    """Seconds a lock lives."""

    @abstractmethod
    def add_seats(self, seat_ids: list[SeatId]) -> None:
        """Add the seats that are missing; never touch the state of a seat that is there.

        Raises ``ValueError`` if an id has the same text as a different id of the event
        (``1`` and ``"1"``); then nothing is added.
        """

    @abstractmethod
    def lock(self, seat_id: SeatId, user_id: UserId) -> Result:
        """Lock one seat for ``user_id`` until now + ``lock_timeout``."""

    @abstractmethod
    def lock_many(self, seat_ids: tuple[SeatId, ...], user_id: UserId, label: object) -> Result:
        """Lock all of ``seat_ids`` with one deadline and one token, or none.

        ``label`` is what the success message shows for the ids (see ``bulk_label``).
        """

    @abstractmethod
    def book(self, seat_id: SeatId, user_id: UserId) -> Result:
        """Book one seat that ``user_id`` holds live."""

    @abstractmethod
    def book_many(self, seat_ids: tuple[SeatId, ...], user_id: UserId, label: object) -> Result:
        """Book all of ``seat_ids`` (each held live by ``user_id``), or none."""

    @abstractmethod
    def cancel(self, seat_id: SeatId, user_id: UserId) -> Result:
        """Release one seat's live lock held by ``user_id``."""

    @abstractmethod
    def cancel_many(self, seat_ids: tuple[SeatId, ...], user_id: UserId, label: object) -> Result:
        """Release the live locks ``user_id`` holds on all of ``seat_ids``, or none."""

    @abstractmethod
    def cleanup(self) -> int:
        """Release every expired lock not yet replaced; return how many this call released."""

    @abstractmethod
    def status(self, seat_id: SeatId) -> SeatStatus | None:
        """One seat's status now, or ``None`` if the event has no such seat."""

    @abstractmethod
    def seat_ids(self, state: SeatState | None = None) -> list[SeatId]:
        """The ids of the seats in ``state`` now (all seats if ``None``), in the order added."""

    @abstractmethod
    def counts(self) -> dict[SeatState, int]:
        """How many seats are in each state now."""

    def direct_calls(self) -> dict[str, Callable[[SeatId, UserId], Result]]:
        """Single-seat calls that check their own arguments, by manager method name.

        The manager installs these on itself, so each call skips one Python call. Only a
        store whose per-call cost is that small (memory) needs to offer any.
        """
        return {}

    def state_of(self, seat_id: SeatId) -> SeatState:
        """One seat's state now (``UnknownSeatError`` if there is no such seat)."""
        status = self.status(seat_id)
        if status is None:
            raise UnknownSeatError(seat_id)
        return status.state


class Store(ABC):
    """A place where events' seat state lives."""

    server_time: bool = False
    """True when time comes from the server: such a store refuses a ``clock``."""

    @classmethod
    @abstractmethod
    def from_url(cls, url: str) -> Store:
        """Open the store a URL of its scheme names."""

    @abstractmethod
    def open_event(self, event: str, lock_timeout: float, clock: Clock | None) -> EventStore:
        """The seats of ``event`` (created empty if new), with locks of ``lock_timeout`` s."""

    def close(self) -> None:  # noqa: B027 (optional: not every store has resources)
        """Release connections and files; the default has none."""
