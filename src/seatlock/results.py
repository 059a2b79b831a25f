"""Results of seat operations: truthy on success, equal to the 0.2.0 message.

Conflicts between users are results, never exceptions (SPEC §4). A :class:`Result`

* is truthy only on success,
* ``str()``s, prints and compares equal to exactly the message seatlock 0.2.0
  returned for the same situation,
* also answers the common ``str`` habits of 0.2.0 code (``in``, ``+``, ``len()``,
  ``.startswith()`` and the other ``str`` methods) from its message,
* carries structured fields to branch on: :attr:`~Result.ok`, :attr:`~Result.reason`,
  :attr:`~Result.seat_ids`, :attr:`~Result.conflicts` and, on a successful lock,
  :attr:`~Result.deadline` and :attr:`~Result.token`.

The message is built only when asked for, so a result costs little to make.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any, NamedTuple

SeatId = int | str
"""A seat id: an ``int`` or a ``str`` (never a ``bool``)."""

UserId = int | str
"""A user id: an ``int`` or a non-empty ``str`` (never a ``bool``)."""


class Op(str, enum.Enum):
    """The operation a result answers."""

    LOCK = "lock"
    LOCK_BULK = "lock_bulk"
    BOOK = "book"
    BOOK_BULK = "book_bulk"
    CANCEL = "cancel"
    CANCEL_BULK = "cancel_bulk"


class Reason(str, enum.Enum):
    """Why an operation succeeded or failed, for one seat or for the whole call."""

    OK = "ok"
    """The operation happened."""
    UNKNOWN_SEAT = "unknown_seat"
    """No seat has this id."""
    ALREADY_BOOKED = "already_booked"
    """The seat is booked (terminal)."""
    HELD_BY_OTHER = "held_by_other"
    """Another user holds a live lock on the seat."""
    HELD_BY_YOU = "held_by_you"
    """Locking: the same user already holds a live lock on the seat."""
    NOT_LOCKED = "not_locked"
    """Booking or cancelling: the seat has no live lock (never locked, or it expired)."""


class Conflict(NamedTuple):
    """One seat that stopped an operation."""

    seat_id: SeatId
    reason: Reason
    holder: UserId | None = None
    """The live holder, for ``HELD_BY_OTHER`` and ``HELD_BY_YOU``; else ``None``."""


_OK = Reason.OK
_BULK = frozenset({Op.LOCK_BULK, Op.BOOK_BULK, Op.CANCEL_BULK})


def conflict_message(op: Op, conflict: Conflict) -> str:
    """The 0.2.0 message for one conflicting seat in operation ``op``."""
    seat_id, reason, holder = conflict
    if reason is Reason.UNKNOWN_SEAT:
        return f"Seat {seat_id} does not exist"
    if op is Op.LOCK or op is Op.LOCK_BULK:
        if reason is Reason.ALREADY_BOOKED:
            return f"Seat {seat_id} is already booked"
        if op is Op.LOCK:
            return f"Seat {seat_id} is currently locked by {holder}"
        return f"Seat {seat_id} is locked by {holder}"
    if reason is Reason.HELD_BY_OTHER or reason is Reason.HELD_BY_YOU:
        return f"Seat {seat_id} is locked by another user"
    if reason is Reason.ALREADY_BOOKED and (op is Op.CANCEL or op is Op.CANCEL_BULK):
        return f"Seat {seat_id} is already booked and cannot be cancelled"
    return f"Seat {seat_id} is not locked"


def success_message(op: Op, subject: object, user_id: UserId) -> str:
    """The 0.2.0 message for a successful ``op``; ``subject`` is the seat id or the ids' text."""
    if op is Op.LOCK:
        return f"Seat {subject} is locked by {user_id}"
    if op is Op.BOOK:
        return f"Seat {subject} is now booked by {user_id}"
    if op is Op.CANCEL:
        return f"Seat {subject} lock cancelled by {user_id}"
    if op is Op.LOCK_BULK:
        return f"Seats {subject} locked by {user_id}"
    if op is Op.BOOK_BULK:
        return f"Seats {subject} successfully booked by {user_id}"
    return f"Locks for seats {subject} cancelled by {user_id}"


class Result:
    """The outcome of one operation; see the module docstring.

    Made by stores, not by users. For a single-seat operation ``subject`` is the seat id;
    for a bulk one it is the tuple of ids in the caller's order.
    """

    __slots__ = ("_detail", "_subject", "deadline", "op", "reason", "token", "user_id")

    op: Op
    """The operation."""
    reason: Reason
    """``Reason.OK`` on success, else the reason of the first conflict in the caller's order."""
    user_id: UserId
    """The user who asked."""
    deadline: float | None
    """On a successful lock: when the lock expires, in the store's clock (seconds)."""
    token: int | None
    """On a successful lock: the hold token, larger than every earlier lock's in the event."""

    def __init__(
        self,
        op: Op,
        reason: Reason,
        subject: SeatId | tuple[SeatId, ...],
        user_id: UserId,
        detail: object = None,
        deadline: float | None = None,
        token: int | None = None,
    ) -> None:
        # detail: the holder (single-seat conflict), the conflicts (bulk failure) or
        # the text of the caller's seat_ids (bulk success).
        self.op = op
        self.reason = reason
        self._subject = subject
        self.user_id = user_id
        self._detail = detail
        self.deadline = deadline
        self.token = token

    @property
    def ok(self) -> bool:
        """True when the operation happened."""
        return self.reason is _OK

    def __bool__(self) -> bool:
        return self.reason is _OK

    @property
    def seat_ids(self) -> tuple[SeatId, ...]:
        """The seat ids the call named, in the caller's order."""
        subject = self._subject
        return subject if type(subject) is tuple else (subject,)  # type: ignore[return-value]

    @property
    def conflicts(self) -> tuple[Conflict, ...]:
        """Every seat that stopped the operation, in the caller's order; empty on success."""
        if self.reason is _OK:
            return ()
        if self.op in _BULK:
            detail: tuple[Conflict, ...] = self._detail  # type: ignore[assignment]
            return detail
        holder = self._detail if self.reason in _HELD else None
        return (Conflict(self._subject, self.reason, holder),)  # type: ignore[arg-type]

    @property
    def message(self) -> str:
        """Exactly the message seatlock 0.2.0 gave in the same situation."""
        if self.reason is _OK:
            subject = self._detail if self.op in _BULK else self._subject
            return success_message(self.op, subject, self.user_id)
        return conflict_message(self.op, self.conflicts[0])

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        extra = f", token={self.token}, deadline={self.deadline}" if self.token is not None else ""
        return f"<Result {self.op.value} {self.reason.value}{extra}: {self.message!r}>"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            return self.message == other
        if isinstance(other, Result):
            return self._key() == other._key()
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self) -> int:
        return hash(self.message)

    # 0.2.0 returned plain strings: keep the common string habits working on the message.

    def __contains__(self, text: str) -> bool:
        return text in self.message

    def __len__(self) -> int:
        return len(self.message)

    def __add__(self, other: str) -> str:
        return self.message + other

    def __radd__(self, other: str) -> str:
        return other + self.message

    def __getattr__(self, name: str) -> Any:
        """``result.startswith(...)``, ``result.split()``…: the message's ``str`` methods."""
        if name.startswith("_") or not hasattr(str, name):
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        return getattr(self.message, name)

    def _key(self) -> tuple[object, ...]:
        return (
            self.op,
            self.reason,
            self.seat_ids,
            self.user_id,
            self.conflicts,
            self.message,
            self.deadline,
            self.token,
        )


_HELD = frozenset({Reason.HELD_BY_OTHER, Reason.HELD_BY_YOU})


def bulk_label(seat_ids: Sequence[SeatId]) -> object:
    """What a bulk success message shows for ``seat_ids``: ``str()`` of it as passed.

    A tuple is kept and a list copied (both print later, as they printed now); any other
    sequence is printed now, so later changes to it don't show.
    """
    kind = type(seat_ids)
    if kind is tuple:
        return seat_ids
    if kind is list:
        return list(seat_ids)
    return str(seat_ids)


def bulk_failure(
    op: Op, ids: tuple[SeatId, ...], user_id: UserId, conflicts: list[Conflict]
) -> Result:
    """The result of a bulk ``op`` stopped by ``conflicts`` (already in the caller's order)."""
    return Result(op, conflicts[0].reason, ids, user_id, tuple(conflicts))
