"""Argument checks shared by every store (SPEC §5).

Each check raises ``TypeError`` or ``ValueError`` naming the bad value, before any seat's
state is read, and returns the value in its plain form (an ``int`` or ``str`` subclass
becomes a plain ``int`` or ``str``), so stores see only plain ids.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import cast

from .results import SeatId, UserId

_NOT_SEQUENCES = (str, bytes, bytearray, memoryview)

MAX_ID_LENGTH = 256
"""The longest seat id an event can hold, in characters of its text (and the longest
event name). Every store can key and index such ids."""
INT_ID_LIMIT = 10**MAX_ID_LENGTH
"""``int`` ids must lie strictly between ``-INT_ID_LIMIT`` and ``INT_ID_LIMIT``, in every
call: longer ints are refused (Python will not even print the longest)."""


def check_seat_id(seat_id: object) -> SeatId:
    """Return ``seat_id`` as a plain ``int`` or ``str``; ``TypeError`` for anything else."""
    kind = type(seat_id)
    if kind is str:
        return seat_id  # type: ignore[return-value]
    if isinstance(seat_id, bool) or not isinstance(seat_id, (int, str)):
        raise TypeError(f"seat id must be an int or a str, not {kind.__name__}: {seat_id!r}")
    if isinstance(seat_id, int):
        return _check_int("seat", int(seat_id))
    return str.__str__(seat_id)


def check_user_id(user_id: object) -> UserId:
    """Return ``user_id`` as a plain ``int`` or non-empty ``str``."""
    kind = type(user_id)
    if kind is not str:
        if isinstance(user_id, bool) or not isinstance(user_id, (int, str)):
            raise TypeError(f"user id must be an int or a str, not {kind.__name__}: {user_id!r}")
        if isinstance(user_id, int):
            return _check_int("user", int(user_id))
        user_id = str.__str__(user_id)
    if user_id == "":
        raise ValueError("user id must not be empty: ''")
    return user_id  # type: ignore[return-value]


def check_seat_ids(seat_ids: object) -> tuple[SeatId, ...]:
    """Return the ids of a bulk call as a tuple in the caller's order.

    ``TypeError`` unless ``seat_ids`` is a sequence (not ``str``/``bytes``) of seat ids;
    ``ValueError`` when it is empty or names a seat twice.
    """
    kind = type(seat_ids)
    if (kind is not list and kind is not tuple) and (
        not isinstance(seat_ids, Sequence) or isinstance(seat_ids, _NOT_SEQUENCES)
    ):
        raise TypeError(
            "seat_ids must be a list, tuple or other sequence of seat ids (a set, dict, "
            f"iterator or string is not), not {type(seat_ids).__name__}: {seat_ids!r}"
        )
    ids: tuple[SeatId, ...] = tuple(cast("Sequence[SeatId]", seat_ids))
    if not ids:
        raise ValueError(f"seat_ids must name at least one seat: {seat_ids!r}")
    for seat_id in ids:
        if type(seat_id) is not str and (
            type(seat_id) is not int or not -INT_ID_LIMIT < seat_id < INT_ID_LIMIT
        ):
            ids = tuple(check_seat_id(s) for s in ids)
            break
    if len(set(ids)) != len(ids):
        raise ValueError(f"seat_ids names seat {_first_repeat(ids)!r} more than once: {seat_ids!r}")
    return ids


def check_new_seat_ids(seat_ids: Iterable[object]) -> list[SeatId]:
    """Check ids for building or extending a manager: plain ids, no two alike in text.

    ``1`` and ``"1"`` are different ids, but every store keys seats by text, so one
    event cannot hold both.
    """
    ids = [check_seat_id(s) for s in seat_ids]
    texts: dict[str, SeatId] = {}
    for seat_id in ids:
        text = str(seat_id)
        if type(seat_id) is str and len(text) > MAX_ID_LENGTH:
            raise ValueError(
                f"seat id {text[:40]!r}… is {len(text)} characters long: an event's seat ids "
                f"have at most {MAX_ID_LENGTH}"
            )
        if text in texts:
            other = texts[text]
            if other == seat_id:
                raise ValueError(f"seat {seat_id!r} is given more than once")
            raise ValueError(
                f"seats {other!r} and {seat_id!r} have the same text; one event cannot hold both"
            )
        texts[text] = seat_id
    return ids


def text_twin(seat_id: SeatId) -> SeatId | None:
    """The other id with the same text as ``seat_id`` (``1`` ↔ ``"1"``), if there can be one."""
    if type(seat_id) is int:
        return str(seat_id)
    text: str = seat_id  # type: ignore[assignment]
    try:
        number = int(text)
    except ValueError:
        return None
    return number if str(number) == text else None


def twin_error(seat_id: SeatId) -> ValueError:
    """The error for adding ``seat_id`` to an event that holds its text twin."""
    return ValueError(
        f"seat {seat_id!r} has the same text as the event's seat {text_twin(seat_id)!r}; "
        "one event cannot hold both"
    )


def check_timeout(lock_timeout: object) -> float | int:
    """Return ``lock_timeout``: finite seconds > 0, an ``int`` or ``float`` (not ``bool``)."""
    if isinstance(lock_timeout, bool) or not isinstance(lock_timeout, (int, float)):
        raise TypeError(
            f"lock_timeout must be a number of seconds (int or float), "
            f"not {type(lock_timeout).__name__}: {lock_timeout!r}"
        )
    if not math.isfinite(lock_timeout) or lock_timeout <= 0:
        raise ValueError(
            f"lock_timeout must be a finite number of seconds > 0, not {lock_timeout!r}"
        )
    return int(lock_timeout) if isinstance(lock_timeout, int) else float(lock_timeout)


def check_clock(clock: object) -> Callable[[], float] | None:
    """Return ``clock``: ``None`` or a zero-argument callable returning seconds."""
    if clock is not None and not callable(clock):
        raise TypeError(f"clock must be a zero-argument callable returning seconds, not {clock!r}")
    return clock


def _check_int(what: str, value: int) -> int:
    if not -INT_ID_LIMIT < value < INT_ID_LIMIT:
        raise ValueError(
            f"{what} id is an int of {value.bit_length()} bits, more than {MAX_ID_LENGTH} "
            "digits: ids are at most that long"
        )
    return value


def _first_repeat(ids: tuple[SeatId, ...]) -> SeatId:
    seen: set[SeatId] = set()
    for seat_id in ids:
        if seat_id in seen:
            return seat_id
        seen.add(seat_id)
    raise AssertionError("no repeat")  # pragma: no cover
