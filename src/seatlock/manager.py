"""SeatManager: the 0.2.0 API over any store, with checked arguments and rich results."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from types import TracebackType

from .errors import UnknownSeatError
from .results import Result, SeatId, UserId, bulk_label
from .seat import Seat, SeatState, SeatStatus
from .stores import open_store
from .stores.base import Clock, EventStore, Store
from .validation import (
    MAX_ID_LENGTH,
    check_clock,
    check_new_seat_ids,
    check_seat_id,
    check_seat_ids,
    check_timeout,
    check_user_id,
)

DEFAULT_LOCK_TIMEOUT = 10
"""Seconds a lock lives unless ``lock_timeout`` says otherwise (as 0.2.0 documented)."""


class SeatManager:
    """Locks, books and cancels seats for users: the engine behind every seatlock layer.

    Args:
        seats: the event's seats: :class:`Seat` objects or plain ids (``int`` / ``str``).
            On an event that already exists, the missing ones are added; seats that are
            there keep their state.
        lock_timeout: seconds a lock lives (finite, > 0); default 10.
        clock: a zero-argument callable returning monotonic seconds (default
            ``time.monotonic``), so tests need not sleep. Memory and SQLite stores only.
        store: a URL (``memory://`` default, ``sqlite:///file.db``, …) or a
            :class:`~seatlock.stores.Store` object.
        event: the show these seats belong to (default ``"default"``).

    Every operation is atomic and thread-safe and returns a :class:`Result`; conflicts
    between users are results, misuse raises ``TypeError``/``ValueError``.
    """

    def __init__(
        self,
        seats: Iterable[Seat | SeatId],
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
        *,
        clock: Clock | None = None,
        store: str | Store | None = None,
        event: str = "default",
    ) -> None:
        lock_timeout = check_timeout(lock_timeout)
        clock = check_clock(clock)
        if not isinstance(event, str):
            raise TypeError(f"event must be a str, not {type(event).__name__}: {event!r}")
        if not 0 < len(event) <= MAX_ID_LENGTH:
            raise ValueError(
                f"event must be a str of 1 to {MAX_ID_LENGTH} characters, not {event[:40]!r}"
                f"{'…' if len(event) > 40 else ''} ({len(event)} characters)"
            )
        seat_list = _as_list(seats)
        ids = check_new_seat_ids(_seat_id(s) for s in seat_list)
        if store is None or isinstance(store, str):
            self._store: Store = open_store(store or "memory://")
            self._owns_store = True
        elif isinstance(store, Store):
            self._store, self._owns_store = store, False
        else:
            raise TypeError(
                f"store must be a URL or a Store, not {type(store).__name__}: {store!r}"
            )
        try:
            if clock is not None and self._store.server_time:
                raise ValueError(
                    f"clock= is not accepted by the {type(self._store).__name__}: "
                    "it takes time from its server"
                )
            self._seats: EventStore = self._store.open_event(event, lock_timeout, clock)
            self._seats.add_seats(ids)
        except BaseException:
            self.close()
            raise
        self.event = event
        self._bind(seat_list)
        for name, call in self._seats.direct_calls().items():
            setattr(self, name, call)

    @property
    def lock_timeout(self) -> float:
        """Seconds a lock lives."""
        return self._seats.lock_timeout

    # -- the 0.2.0 operations -------------------------------------------------------

    def lock_seat(self, seat_id: SeatId, user_id: UserId) -> Result:
        """Lock one available seat for ``user_id`` until now + ``lock_timeout``."""
        seat_id = check_seat_id(seat_id)
        user_id = check_user_id(user_id)
        return self._seats.lock(seat_id, user_id)

    def lock_seats_bulk(self, seat_ids: Sequence[SeatId], user_id: UserId) -> Result:
        """Lock all of ``seat_ids`` for ``user_id`` with one deadline, or none."""
        ids = check_seat_ids(seat_ids)
        user_id = check_user_id(user_id)
        return self._seats.lock_many(ids, user_id, bulk_label(seat_ids))

    def book_a_seat(self, seat_id: SeatId, user_id: UserId) -> Result:
        """Book one seat that ``user_id`` holds by a live lock. Booking is final."""
        seat_id = check_seat_id(seat_id)
        user_id = check_user_id(user_id)
        return self._seats.book(seat_id, user_id)

    def book_seats_bulk(self, seat_ids: Sequence[SeatId], user_id: UserId) -> Result:
        """Book all of ``seat_ids``, each held live by ``user_id``, or none."""
        ids = check_seat_ids(seat_ids)
        user_id = check_user_id(user_id)
        return self._seats.book_many(ids, user_id, bulk_label(seat_ids))

    def cancel_lock(self, seat_id: SeatId, user_id: UserId) -> Result:
        """Release the live lock ``user_id`` holds on one seat."""
        seat_id = check_seat_id(seat_id)
        user_id = check_user_id(user_id)
        return self._seats.cancel(seat_id, user_id)

    def cancel_locks_bulk(self, seat_ids: Sequence[SeatId], user_id: UserId) -> Result:
        """Release the live locks ``user_id`` holds on all of ``seat_ids``, or none."""
        ids = check_seat_ids(seat_ids)
        user_id = check_user_id(user_id)
        return self._seats.cancel_many(ids, user_id, bulk_label(seat_ids))

    def cleanup_expired_locks(self) -> int:
        """Release the locks that have expired; return how many this call released.

        Only reclaims: an expired lock is no lock for every operation even before this
        runs. Costs O(expired locks), not O(seats).
        """
        return self._seats.cleanup()

    # -- reading --------------------------------------------------------------------

    def seat_status(self, seat_id: SeatId) -> SeatStatus:
        """One seat's state, holder, deadline and time left, expiry applied.

        Raises:
            UnknownSeatError: the event has no such seat.
        """
        seat_id = check_seat_id(seat_id)
        status = self._seats.status(seat_id)
        if status is None:
            raise UnknownSeatError(seat_id)
        return status

    def seat_ids(self, state: SeatState | str | None = None) -> list[SeatId]:
        """The ids of the seats in ``state`` (all seats if ``None``), expiry applied."""
        return self._seats.seat_ids(None if state is None else _check_state(state))

    def counts(self) -> dict[SeatState, int]:
        """How many seats are available, locked and booked now, expiry applied."""
        return self._seats.counts()

    def add_seats(self, seats: Iterable[Seat | SeatId]) -> None:
        """Add seats to the running event; seats already there keep their state."""
        seat_list = _as_list(seats)
        self._seats.add_seats(check_new_seat_ids(_seat_id(s) for s in seat_list))
        self._bind(seat_list)

    # -- lifetime -------------------------------------------------------------------

    def close(self) -> None:
        """Release the store's connections if this manager opened it (from a URL)."""
        if self._owns_store:
            self._store.close()

    def __enter__(self) -> SeatManager:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"<SeatManager event={self.event!r} store={type(self._store).__name__} "
            f"lock_timeout={self.lock_timeout}>"
        )

    def _bind(self, seats: list[Seat | SeatId]) -> None:
        """Let the Seat objects handed over show this manager's state (first manager wins)."""
        for seat in seats:
            if isinstance(seat, Seat) and seat._store is None:
                seat._store = self._seats


def _as_list(seats: object) -> list[Seat | SeatId]:
    if isinstance(seats, (str, bytes)) or not isinstance(seats, Iterable):
        raise TypeError(f"seats must be an iterable of Seat objects or seat ids, not {seats!r}")
    return list(seats)


def _seat_id(seat: object) -> object:
    return seat.seat_id if isinstance(seat, Seat) else seat


def _check_state(state: object) -> SeatState:
    try:
        return SeatState(state)
    except ValueError:
        raise ValueError(
            f"state must be one of {[s.value for s in SeatState]}, not {state!r}"
        ) from None
