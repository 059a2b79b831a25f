"""The per-seat rules of SPEC §1 and §2, for stores that decide in Python.

A seat is seen as ``(state, holder, deadline)`` as stored: ``state`` is ``None`` for an
unknown seat, else ``AVAILABLE``, ``LOCKED`` (its lock may have expired: ``deadline <=
now``) or ``BOOKED``. Each function returns ``None`` when ``user_id`` may do the operation
on the seat at ``now``, else the :class:`~seatlock.results.Conflict` that stops it. The
precedence of reasons is 0.2.0's.
"""

from __future__ import annotations

from .results import Conflict, Reason, SeatId, UserId
from .seat import SeatState

_AVAILABLE, _LOCKED, _BOOKED = SeatState


def live_state(state: SeatState | None, deadline: float | None, now: float) -> SeatState | None:
    """The state a stored seat is in at ``now``: an expired lock is ``AVAILABLE``."""
    if state is _LOCKED and deadline is not None and deadline <= now:
        return _AVAILABLE
    return state


def lock_conflict(
    seat_id: SeatId,
    user_id: UserId,
    state: SeatState | None,
    holder: UserId | None,
    deadline: float | None,
    now: float,
) -> Conflict | None:
    """Why ``user_id`` may not lock the seat: unknown, booked, or held live (by anyone)."""
    live = live_state(state, deadline, now)
    if live is None:
        return Conflict(seat_id, Reason.UNKNOWN_SEAT)
    if live is _BOOKED:
        return Conflict(seat_id, Reason.ALREADY_BOOKED)
    if live is _LOCKED:
        reason = Reason.HELD_BY_YOU if holder == user_id else Reason.HELD_BY_OTHER
        return Conflict(seat_id, reason, holder)
    return None


def release_conflict(
    seat_id: SeatId,
    user_id: UserId,
    state: SeatState | None,
    holder: UserId | None,
    deadline: float | None,
    now: float,
) -> Conflict | None:
    """Why ``user_id`` may not book or cancel the seat: unknown, booked, not locked
    (never, or expired), or held by another user."""
    live = live_state(state, deadline, now)
    if live is None:
        return Conflict(seat_id, Reason.UNKNOWN_SEAT)
    if live is _BOOKED:
        return Conflict(seat_id, Reason.ALREADY_BOOKED)
    if live is _AVAILABLE:
        return Conflict(seat_id, Reason.NOT_LOCKED)
    if holder != user_id:
        return Conflict(seat_id, Reason.HELD_BY_OTHER, holder)
    return None
