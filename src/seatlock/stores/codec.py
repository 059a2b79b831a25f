"""How server stores write ids and reasons as text, and read their replies back.

Ids are stored tagged with their type, so ``1`` and ``"1"`` stay different ids (and
users) in every store: ``encode_id(1) == "i:1"``, ``encode_id("1") == "s:1"``. Reasons
travel as small integers (:data:`REASON_CODES`). One event never holds two seats whose ids
share a text; :func:`twin_key` gives the key that would clash.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..results import Conflict, Op, Reason, Result, SeatId, UserId, bulk_failure
from ..validation import text_twin

REASON_CODES: tuple[Reason, ...] = tuple(Reason)
"""Reason by wire code: the position in :class:`~seatlock.Reason` (``0`` is ``OK``)."""


def encode_id(value: SeatId | UserId) -> str:
    """The stored text of a seat or user id."""
    return f"i:{value}" if type(value) is int else f"s:{value}"


def decode_id(text: str) -> SeatId:
    """The id whose stored text is ``text``."""
    return int(text[2:]) if text[0] == "i" else text[2:]


def twin_key(seat_id: SeatId) -> str | None:
    """The stored key of the other id with the same text as ``seat_id``, if any can exist."""
    twin = text_twin(seat_id)
    return None if twin is None else encode_id(twin)


def reply_result(
    op: Op,
    seat_ids: tuple[SeatId, ...],
    user_id: UserId,
    label: object,
    conflicts: Iterable[tuple[int, int, str | None]],
    deadline: float | None = None,
    token: int | None = None,
) -> Result:
    """The :class:`Result` of a store's reply.

    ``conflicts`` are ``(position in seat_ids, reason code, encoded holder or None)``;
    empty means success. A single-seat ``op`` has one id and no label.
    """
    found = sorted(conflicts)
    if not found:
        subject = seat_ids if label is not None else seat_ids[0]
        return Result(op, Reason.OK, subject, user_id, label, deadline, token)
    listed = [
        Conflict(seat_ids[i], REASON_CODES[code], None if holder is None else decode_id(holder))
        for i, code, holder in found
    ]
    if label is None:
        seat_id, reason, holder = listed[0]
        return Result(op, reason, seat_id, user_id, holder)
    return bulk_failure(op, seat_ids, user_id, listed)
