"""Recording operations: what was asked, when (real time), and what came back."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import NotPerformedError
from ..manager import SeatManager
from ..results import Conflict, Op, Reason, Result, SeatId, UserId
from ..seat import SeatStatus

LOCKS = frozenset({Op.LOCK, Op.LOCK_BULK})
BOOKS = frozenset({Op.BOOK, Op.BOOK_BULK})
CANCELS = frozenset({Op.CANCEL, Op.CANCEL_BULK})
_BULK = frozenset({Op.LOCK_BULK, Op.BOOK_BULK, Op.CANCEL_BULK})

_NOTHING_CHANGED = (NotPerformedError, TypeError, ValueError)
"""Exceptions after which the operation surely did not happen (SPEC §5); any other
leaves its outcome unknown."""


@dataclass(frozen=True)
class Operation:
    """One call as recorded: what was asked, when, and what came back.

    ``call`` and ``ret`` are ``time.monotonic()`` on the caller just before the call and
    just after it returned (or raised); every operation of one history must take them
    from one clock (one host). A call that raised has ``reason`` ``None``.
    """

    op: Op
    seat_ids: tuple[SeatId, ...]
    user_id: UserId
    lock_timeout: float
    """The calling manager's ``lock_timeout``: a successful lock was taken at
    ``deadline - lock_timeout`` in the store's clock."""
    call: float
    ret: float
    reason: Reason | None = None
    """``Reason.OK`` on success, the first conflict's reason on refusal, ``None`` if it raised."""
    conflicts: tuple[Conflict, ...] = ()
    token: int | None = None
    deadline: float | None = None
    error: str | None = None
    """What it raised (type and message)."""
    unknown: bool = False
    """It raised, and may or may not have happened (any exception but a
    :class:`~seatlock.NotPerformedError` or misuse's ``TypeError``/``ValueError``)."""
    store_window: tuple[float, float] | None = None
    """The store's clock read just before the call and just after it returned, when the
    history has a ``store_clock``: the operation's store time lies in between."""

    @property
    def ok(self) -> bool:
        """True when the operation happened (returned a successful result)."""
        return self.reason is Reason.OK

    def __str__(self) -> str:
        ids = self.seat_ids[0] if self.op not in _BULK else list(self.seat_ids)
        head = f"{self.op.value}({ids!r}, {self.user_id!r}) [{self.call:.6f}, {self.ret:.6f}]"
        if self.reason is None:
            fate = "outcome unknown" if self.unknown else "not performed"
            return f"{head} raised {self.error} ({fate})"
        if self.ok:
            held = "" if self.token is None else f" token={self.token} deadline={self.deadline}"
            return f"{head} -> ok{held}"
        found = ", ".join(
            f"{c.seat_id!r} {c.reason.value}" + ("" if c.holder is None else f" by {c.holder!r}")
            for c in self.conflicts
        )
        return f"{head} -> refused: {found}"


class History:
    """A thread-safe log of operations and cleanups, in the order they returned.

    Args:
        store_clock: reads the store's clock (e.g. the fake clock a test drives), so
            each operation also records the store-time window it ran in. Leave it out
            when no such reading is at hand (a server store): the checker then bounds
            store times from the successful locks' deadlines alone.
    """

    def __init__(self, store_clock: Callable[[], float] | None = None) -> None:
        self._store_clock = store_clock
        self._operations: list[Operation] = []
        self._released = 0
        self._mutex = threading.Lock()

    @property
    def operations(self) -> list[Operation]:
        """A copy of the operations recorded so far."""
        with self._mutex:
            return list(self._operations)

    @property
    def released(self) -> int:
        """How many expired locks the recorded cleanups said they released, in all."""
        return self._released

    def __len__(self) -> int:
        return len(self._operations)

    def record(self, manager: SeatManager) -> RecordingManager:
        """A stand-in for ``manager`` whose every lock, book, cancel and cleanup is logged here."""
        return RecordingManager(manager, self)

    def run(
        self,
        op: Op,
        seat_ids: Sequence[SeatId],
        user_id: UserId,
        lock_timeout: float,
        call: Callable[[], Result],
    ) -> Result:
        """Run ``call`` (which does ``op`` on ``seat_ids`` for ``user_id``), log it, and
        return its result or re-raise its exception. For any client: an HTTP one, say."""
        clock = self._store_clock
        before = clock() if clock is not None else 0.0
        start = time.monotonic()

        def log(end: float, **outcome: Any) -> None:
            """Log the call, returned (or raised) at ``end`` with ``outcome``."""
            self._add(
                Operation(
                    op,
                    tuple(seat_ids),
                    user_id,
                    lock_timeout,
                    start,
                    end,
                    **outcome,
                    store_window=None if clock is None else (before, clock()),
                )
            )

        try:
            result = call()
        except Exception as exc:
            log(
                time.monotonic(),
                error=f"{type(exc).__name__}: {exc}",
                unknown=not isinstance(exc, _NOTHING_CHANGED),
            )
            raise
        log(
            time.monotonic(),
            reason=result.reason,
            conflicts=result.conflicts,
            token=result.token,
            deadline=result.deadline,
        )
        return result

    def _add(self, operation: Operation) -> None:
        with self._mutex:
            self._operations.append(operation)

    def add_released(self, count: int) -> None:
        """Log a cleanup that said it released ``count`` expired locks."""
        with self._mutex:
            self._released += count


class RecordingManager:
    """A :class:`~seatlock.SeatManager` stand-in that logs every call to a :class:`History`.

    It offers the six operations and ``cleanup_expired_locks()``; ``manager`` is the real one.
    """

    def __init__(self, manager: SeatManager, history: History) -> None:
        self.manager = manager
        self.history = history

    def _run(
        self, op: Op, seat_ids: Iterable[SeatId], user_id: UserId, call: Callable[[], Result]
    ) -> Result:
        ids = tuple(seat_ids) if isinstance(seat_ids, Sequence) else ()
        return self.history.run(op, ids, user_id, self.manager.lock_timeout, call)

    def _one(
        self, op: Op, call: Callable[[SeatId, UserId], Result], seat_id: SeatId, user_id: UserId
    ) -> Result:
        """Log ``call`` on one seat, the manager's method for ``op``."""
        return self._run(op, (seat_id,), user_id, lambda: call(seat_id, user_id))

    def _bulk(
        self,
        op: Op,
        call: Callable[[Sequence[SeatId], UserId], Result],
        seat_ids: Sequence[SeatId],
        user_id: UserId,
    ) -> Result:
        """Log ``call`` on several seats, the manager's bulk method for ``op``."""
        return self._run(op, seat_ids, user_id, lambda: call(seat_ids, user_id))

    def lock_seat(self, seat_id: SeatId, user_id: UserId) -> Result:
        """``SeatManager.lock_seat``, logged."""
        return self._one(Op.LOCK, self.manager.lock_seat, seat_id, user_id)

    def lock_seats_bulk(self, seat_ids: Sequence[SeatId], user_id: UserId) -> Result:
        """``SeatManager.lock_seats_bulk``, logged."""
        return self._bulk(Op.LOCK_BULK, self.manager.lock_seats_bulk, seat_ids, user_id)

    def book_a_seat(self, seat_id: SeatId, user_id: UserId) -> Result:
        """``SeatManager.book_a_seat``, logged."""
        return self._one(Op.BOOK, self.manager.book_a_seat, seat_id, user_id)

    def book_seats_bulk(self, seat_ids: Sequence[SeatId], user_id: UserId) -> Result:
        """``SeatManager.book_seats_bulk``, logged."""
        return self._bulk(Op.BOOK_BULK, self.manager.book_seats_bulk, seat_ids, user_id)

    def cancel_lock(self, seat_id: SeatId, user_id: UserId) -> Result:
        """``SeatManager.cancel_lock``, logged."""
        return self._one(Op.CANCEL, self.manager.cancel_lock, seat_id, user_id)

    def cancel_locks_bulk(self, seat_ids: Sequence[SeatId], user_id: UserId) -> Result:
        """``SeatManager.cancel_locks_bulk``, logged."""
        return self._bulk(Op.CANCEL_BULK, self.manager.cancel_locks_bulk, seat_ids, user_id)

    def cleanup_expired_locks(self) -> int:
        """``SeatManager.cleanup_expired_locks``, its count logged."""
        released = self.manager.cleanup_expired_locks()
        self.history.add_released(released)
        return released


def final_state(manager: SeatManager, seat_ids: Iterable[SeatId]) -> dict[SeatId, SeatStatus]:
    """Every named seat's status now: read it once every recorded call has returned."""
    return {seat_id: manager.seat_status(seat_id) for seat_id in seat_ids}
