"""Exceptions seatlock raises.

Conflicts between users are results (:class:`seatlock.Result`), not exceptions. Misuse
(a bad argument) raises the built-in ``TypeError`` or ``ValueError`` naming the bad value,
before anything changes. Everything else seatlock raises derives from one root::

    SeatlockError
    ├── UnknownSeatError (also KeyError)   a query named a seat the event does not have
    ├── UnknownStoreError (also ValueError) a store URL with a scheme no store serves
    └── StoreError                          the store failed; says what became of the call
        ├── NotPerformedError               surely did not happen: safe to retry
        └── OutcomeUnknownError             may or may not have happened: check first

A store maps its driver's errors to these in one place, chained with ``raise … from exc``.
"""

from __future__ import annotations


class SeatlockError(Exception):
    """Root of every exception seatlock defines."""


class UnknownSeatError(SeatlockError, KeyError):
    """A query named a seat that the event does not have."""

    def __init__(self, seat_id: object) -> None:
        super().__init__(seat_id)
        self.seat_id = seat_id

    def __str__(self) -> str:
        return f"Seat {self.seat_id!r} does not exist"


class UnknownStoreError(SeatlockError, ValueError):
    """A store URL whose scheme no store serves."""


class StoreError(SeatlockError):
    """The store failed (connection lost, timeout, server error).

    Never raised directly: a subclass says whether the operation happened.
    """


class NotPerformedError(StoreError):
    """The operation surely did not happen (nothing was written); retrying is safe."""


class OutcomeUnknownError(StoreError):
    """The operation may or may not have happened; read the seat's state before retrying."""
