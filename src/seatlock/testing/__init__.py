"""Test helpers for seatlock users: record a history of calls, check it is linearizable.

Like ``structlog.testing``, this is not imported by ``import seatlock``. Record the calls
your integration makes through a :class:`History`, read the final state, then
:func:`check` the lot against the contract (SPEC §6: every history is explainable by a
one-at-a-time order of the operations consistent with their real-time order)::

    history = History()
    manager = history.record(SeatManager(seats, store=url))   # log every call
    ...                                                       # threads race on it
    verdict = check(history.operations, final_state(manager.manager, seats),
                    released=history.released)
    assert verdict, verdict.report()

:func:`run_clients` is a ready-made torture workload (client threads with single and bulk
calls, short holds, cleanup running alongside), :func:`soak_round` adds processes, and
``python -m seatlock.testing soak --store URL --seconds N`` runs it for as long as asked.
What the checker assumes and guarantees is in :func:`check`'s docstring.
"""

from __future__ import annotations

from ._checker import DEFAULT_TOLERANCE, Kind, Verdict, Violation, check
from ._history import History, Operation, RecordingManager, final_state
from ._torture import run_clients, soak_round

__all__ = [
    "DEFAULT_TOLERANCE",
    "History",
    "Kind",
    "Operation",
    "RecordingManager",
    "Verdict",
    "Violation",
    "check",
    "final_state",
    "run_clients",
    "soak_round",
]
