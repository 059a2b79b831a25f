"""Seats and their states."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .results import SeatId, UserId
from .validation import check_seat_id

if TYPE_CHECKING:
    from .stores.base import EventStore


class SeatState(str, enum.Enum):
    """The state of a seat; equal to the 0.2.0 state strings (``"AVAILABLE"`` …)."""

    AVAILABLE = "AVAILABLE"
    LOCKED = "LOCKED"
    BOOKED = "BOOKED"


@dataclass(frozen=True)
class SeatStatus:
    """A seat's state at one moment, expiry applied."""

    seat_id: SeatId
    state: SeatState
    holder: UserId | None = None
    """Who holds the live lock (``LOCKED``) or booked the seat (``BOOKED``)."""
    deadline: float | None = None
    """When the live lock expires, in the store's clock (``LOCKED`` only)."""
    time_left: float | None = None
    """Seconds until the live lock expires (``LOCKED`` only)."""
    token: int | None = None
    """The live lock's hold token (``LOCKED`` only)."""


class Seat:
    """A seat, as in 0.2.0: ``Seat(seat_id)``, handed to a :class:`SeatManager`.

    Once handed to a manager the seat shows that manager's state, expiry applied: a seat
    whose lock has expired answers ``is_available()``. A seat already shown by one
    manager is not taken over by another.
    """

    __slots__ = ("_store", "seat_id")

    def __init__(self, seat_id: SeatId) -> None:
        self.seat_id: SeatId = check_seat_id(seat_id)
        self._store: EventStore | None = None

    @property
    def status(self) -> SeatState:
        """The seat's state now (``SeatState.AVAILABLE`` until handed to a manager)."""
        store = self._store
        return SeatState.AVAILABLE if store is None else store.state_of(self.seat_id)

    def is_available(self) -> bool:
        """True if the seat is free (never locked, lock cancelled or expired)."""
        return self.status is SeatState.AVAILABLE

    def is_locked(self) -> bool:
        """True if the seat is held by a live lock."""
        return self.status is SeatState.LOCKED

    def is_booked(self) -> bool:
        """True if the seat is booked (final)."""
        return self.status is SeatState.BOOKED

    def __repr__(self) -> str:
        return f"Seat({self.seat_id!r})"
