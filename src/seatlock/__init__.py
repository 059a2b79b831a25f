"""seatlock: a concurrency-safe seat allocation and booking engine.

``from seatlock import Seat, SeatManager`` as in 0.2.0; see the README.
"""

from __future__ import annotations

from .errors import (
    NotPerformedError,
    OutcomeUnknownError,
    SeatlockError,
    StoreError,
    UnknownSeatError,
    UnknownStoreError,
)
from .manager import DEFAULT_LOCK_TIMEOUT, SeatManager
from .results import Conflict, Op, Reason, Result, SeatId, UserId
from .seat import Seat, SeatState, SeatStatus
from .stores import EventStore, Store, open_store
from .validation import INT_ID_LIMIT, MAX_ID_LENGTH

__version__ = "0.3.0"

__all__ = [
    "DEFAULT_LOCK_TIMEOUT",
    "Conflict",
    "EventStore",
    "INT_ID_LIMIT",
    "MAX_ID_LENGTH",
    "NotPerformedError",
    "Op",
    "OutcomeUnknownError",
    "Reason",
    "Result",
    "Seat",
    "SeatId",
    "SeatManager",
    "SeatState",
    "SeatStatus",
    "SeatlockError",
    "Store",
    "StoreError",
    "UnknownSeatError",
    "UnknownStoreError",
    "UserId",
    "__version__",
    "open_store",
]
