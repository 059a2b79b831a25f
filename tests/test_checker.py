"""``seatlock.testing``: the history checker catches each kind of violation, passes
correct tricky histories, fails stores with planted bugs and passes the real engine."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seatlock import (
    Conflict,
    NotPerformedError,
    Op,
    OutcomeUnknownError,
    Reason,
    Result,
    SeatManager,
    SeatState,
    SeatStatus,
)
from seatlock.results import SeatId, UserId
from seatlock.stores.base import Store
from seatlock.stores.memory import MemoryStore
from seatlock.testing import (
    History,
    Kind,
    Operation,
    Verdict,
    check,
    final_state,
    run_clients,
)
from seatlock.testing.__main__ import main as soak_main

from .conformance.support import FakeClock
from .planted import BUGS, Bug, PlantedStore
from .services import need_memory_engine

T = 10.0
"""The lock timeout of the hand-built histories."""

# -- hand-built histories ----------------------------------------------------------------


def _ids(seats: SeatId | list[SeatId]) -> tuple[SeatId, ...]:
    return tuple(seats) if isinstance(seats, list) else (seats,)


def lock(
    seats: SeatId | list[SeatId],
    user: UserId,
    at: tuple[float, float],
    token: int,
    time: float,
    *,
    timeout: float = T,
    window: tuple[float, float] | None = None,
) -> Operation:
    """A successful lock taken at store time ``time``."""
    kind = Op.LOCK_BULK if isinstance(seats, list) else Op.LOCK
    return Operation(
        kind, _ids(seats), user, timeout, *at, Reason.OK, (), token, time + timeout, None, False,
        window,
    )  # fmt: skip


def ok(
    kind: Op, seats: SeatId | list[SeatId], user: UserId, at: tuple[float, float], **kw: Any
) -> Operation:
    """A successful book or cancel."""
    return Operation(kind, _ids(seats), user, T, *at, Reason.OK, store_window=kw.get("window"))


def no(
    kind: Op,
    seats: SeatId | list[SeatId],
    user: UserId,
    at: tuple[float, float],
    *conflicts: Conflict,
    window: tuple[float, float] | None = None,
) -> Operation:
    """A refusal."""
    return Operation(
        kind, _ids(seats), user, T, *at, conflicts[0].reason, conflicts, store_window=window
    )


def raised(
    kind: Op, seat: SeatId, user: UserId, at: tuple[float, float], unknown: bool
) -> Operation:
    """A call that raised: its outcome unknown, or surely not performed."""
    return Operation(kind, (seat,), user, T, *at, error="StoreError", unknown=unknown)


def held(seat: SeatId, holder: UserId) -> Conflict:
    return Conflict(seat, Reason.HELD_BY_OTHER, holder)


def booked(seat: SeatId) -> Conflict:
    return Conflict(seat, Reason.ALREADY_BOOKED)


def not_locked(seat: SeatId) -> Conflict:
    return Conflict(seat, Reason.NOT_LOCKED)


def free(seat: SeatId) -> SeatStatus:
    return SeatStatus(seat, SeatState.AVAILABLE)


def sold(seat: SeatId, user: UserId) -> SeatStatus:
    return SeatStatus(seat, SeatState.BOOKED, user)


def locked(seat: SeatId, user: UserId, token: int, deadline: float) -> SeatStatus:
    return SeatStatus(seat, SeatState.LOCKED, user, deadline, 1.0, token)


ANN = lock(1, "ann", (0, 1), 1, 100)
"""Ann holds seat 1 from store time 100 to 110."""
LOCK, LOCK_BULK, BOOK, BOOK_BULK, CANCEL, CANCEL_BULK = Op

VIOLATIONS = [
    pytest.param(
        [ANN, ok(BOOK, 1, "ann", (2, 3)), ok(BOOK, 1, "ben", (4, 5))], {}, 0,
        Kind.DOUBLE_BOOKING, id="double booking",
    ),
    pytest.param(
        [ANN, lock(1, "ben", (2, 3), 2, 105)], {}, 0, Kind.LOCK_STOLEN, id="lock taken while live"
    ),
    pytest.param(
        [ANN, lock(1, "ann", (2, 3), 2, 105)], {}, 0, Kind.LOCK_STOLEN,
        id="relocked by its holder while live",
    ),
    pytest.param([ANN, ok(BOOK, 1, "ben", (2, 3))], {}, 0, Kind.NOT_HOLDER, id="book by another"),
    pytest.param(
        [ANN, ok(CANCEL, 1, "ben", (2, 3))], {}, 0, Kind.NOT_HOLDER, id="cancel by another"
    ),
    pytest.param([ok(BOOK, 1, "ann", (0, 1))], {}, 0, Kind.NOT_HOLDER, id="book with no lock"),
    pytest.param(
        [ANN, lock(2, "cat", (2, 3), 2, 111), ok(BOOK, 1, "ann", (4, 5))], {}, 0,
        Kind.AFTER_EXPIRY, id="book after expiry, seen from a later lock",
    ),
    pytest.param(
        [ANN, ok(BOOK, 1, "ann", (2, 3), window=(110.5, 110.5))], {}, 0, Kind.AFTER_EXPIRY,
        id="book after expiry, seen from the store clock",
    ),
    pytest.param(
        [ANN, ok(CANCEL, 1, "ann", (2, 3)), ok(CANCEL, 1, "ann", (4, 5))], {}, 0,
        Kind.RELEASED_TWICE, id="one hold cancelled twice",
    ),
    pytest.param(
        [ANN, ok(BOOK, 1, "ann", (2, 3)), lock(1, "ben", (4, 5), 2, 111)], {}, 0,
        Kind.CHANGED_AFTER_BOOKING, id="locked after the booking",
    ),
    pytest.param(
        [ANN, ok(BOOK, 1, "ann", (2, 3)), ok(CANCEL, 1, "ann", (4, 5))], {}, 0,
        Kind.CHANGED_AFTER_BOOKING, id="cancelled after the booking",
    ),
    pytest.param(
        [ANN, ok(BOOK, 1, "ann", (2, 5)), lock(1, "ben", (3, 4), 2, 111)], {}, 0,
        Kind.CHANGED_AFTER_BOOKING, id="a lock ordered after the booking by its token",
    ),
    pytest.param(
        [no(LOCK, 1, "ann", (0, 1), held(1, "ben"))], {}, 0, Kind.UNEXPLAINED_RESULT,
        id="refused as held by a user who never locked",
    ),
    pytest.param(
        [no(LOCK, 1, "ann", (0, 1), booked(1))], {}, 0, Kind.UNEXPLAINED_RESULT,
        id="refused as booked before any booking",
    ),
    pytest.param(
        [ANN, no(BOOK, 1, "ann", (2, 3), not_locked(1), window=(105, 105))], {}, 0,
        Kind.UNEXPLAINED_RESULT, id="own live lock reported not locked",
    ),
    pytest.param(
        [ANN, ok(CANCEL, 1, "ann", (2, 3)), no(LOCK, 1, "ben", (4, 5), held(1, "ann"))], {}, 0,
        Kind.UNEXPLAINED_RESULT, id="refused as held after the cancel returned",
    ),
    pytest.param(
        [ANN, lock(2, "cat", (2, 3), 2, 120), no(LOCK, 1, "ben", (4, 5), held(1, "ann"))], {}, 0,
        Kind.UNEXPLAINED_RESULT, id="refused as held after the hold surely expired",
    ),
    pytest.param(
        [ANN, ok(BOOK, 1, "ann", (2, 3)), no(LOCK, 1, "ben", (4, 5), held(1, "ann"))], {}, 0,
        Kind.UNEXPLAINED_RESULT, id="booked seat reported held",
    ),
    pytest.param(
        [
            ANN,
            lock(2, "cat", (0, 1), 2, 100),
            no(LOCK_BULK, [1, 2], "ben", (2, 3), held(2, "cat"), window=(103, 103)),
        ],
        {}, 0, Kind.UNEXPLAINED_RESULT, id="failed bulk lock leaves out a seat surely held",
    ),
    pytest.param(
        [lock(1, "ann", (0, 1), 5, 100), lock(2, "ben", (2, 3), 3, 101)], {}, 0,
        Kind.TOKEN_ORDER, id="smaller token for a later lock",
    ),
    pytest.param(
        [lock(1, "ann", (0, 1), 3, 100), lock(2, "ben", (0, 1), 3, 100)], {}, 0,
        Kind.TOKEN_ORDER, id="one token twice",
    ),
    pytest.param(
        [ANN, lock(2, "ben", (2, 3), 2, 99)], {}, 0, Kind.CLOCK_WENT_BACK, id="lock time went back"
    ),
    pytest.param(
        [lock(1, "ann", (0, 1), 1, 100, window=(101, 102))], {}, 0, Kind.CLOCK_WENT_BACK,
        id="lock time outside the store clock read",
    ),
    pytest.param(
        [ANN, ok(BOOK, 1, "ann", (2, 3))], {1: free(1)}, 0, Kind.LOST_BOOKING, id="booking lost"
    ),
    pytest.param(
        [ANN, ok(BOOK, 1, "ann", (2, 3))], {1: sold(1, "ben")}, 0, Kind.LOST_BOOKING,
        id="booking ends up another user's",
    ),
    pytest.param(
        [lock([1, 2], "ann", (0, 1), 1, 100), ok(BOOK_BULK, [1, 2], "ann", (2, 3))],
        {1: sold(1, "ann"), 2: free(2)}, 0, Kind.PARTIAL_BULK, id="bulk booking partly kept",
    ),
    pytest.param([ANN], {1: sold(1, "ann")}, 0, Kind.UNCONFIRMED_BOOKING, id="booked by no call"),
    pytest.param(
        [ANN, lock(1, "ben", (2, 3), 2, 110)], {1: locked(1, "ann", 1, 110)}, 0, Kind.FINAL_HOLD,
        id="replaced hold still there",
    ),
    pytest.param(
        [ANN, ok(CANCEL, 1, "ann", (2, 3))], {1: locked(1, "ann", 1, 110)}, 0, Kind.FINAL_HOLD,
        id="cancelled hold still there",
    ),
    pytest.param(
        [ANN, ok(CANCEL, 1, "ann", (2, 3))], {}, 1, Kind.CLEANUP_OVERCOUNT,
        id="cleanup counted a cancelled hold",
    ),
    pytest.param(
        [Operation(LOCK, (1,), "ann", T, 0, 1, Reason.OK)], {}, 0, Kind.MALFORMED_RESULT,
        id="lock without a token",
    ),
    pytest.param(
        [no(LOCK, 1, "ann", (0, 1), held(2, "ben"))], {}, 0, Kind.MALFORMED_RESULT,
        id="conflict on a seat not asked for",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("operations", "final", "released", "kind"), VIOLATIONS)
def test_each_violation_is_caught_with_its_kind(
    operations: list[Operation], final: dict[SeatId, SeatStatus], released: int, kind: Kind
) -> None:
    verdict = check(operations, final or None, released=released)
    assert not verdict
    assert verdict.kinds == {kind}, verdict.report()
    assert kind.value in verdict.report()


CORRECT = [
    pytest.param(
        [ANN, lock(1, "ben", (2, 3), 2, 110)], {1: locked(1, "ben", 2, 120)}, 0,
        id="taken over exactly at the deadline",
    ),
    pytest.param(
        [
            lock(1, "ann", (0, 1), 1, 100.0, timeout=0.1),
            lock(1, "ben", (2, 3), 2, 100.1, timeout=0.1),
        ],
        {}, 0, id="float deadlines at the boundary",
    ),
    pytest.param(
        [lock(1, "ann", (0, 10), 2, 100), lock(2, "ben", (1, 2), 1, 100)], {}, 0,
        id="overlapping locks take tokens in either order",
    ),
    pytest.param(
        [
            lock(1, "ann", (0, 10), 1, 100),
            lock(2, "ben", (1, 2), 2, 101),
            no(LOCK_BULK, [1, 2], "cat", (3, 4), held(2, "ben")),
        ],
        {}, 0, id="a seat's lock may land after a larger token of another seat",
    ),
    pytest.param(
        [ANN, ok(CANCEL, 1, "ann", (5, 7)), lock(1, "ben", (6, 8), 2, 104)], {}, 0,
        id="cancel racing the next lock",
    ),
    pytest.param(
        [ANN, ok(CANCEL, 1, "ann", (2, 4)), no(LOCK, 1, "ben", (3, 5), held(1, "ann"))], {}, 0,
        id="refusal racing the cancel",
    ),
    pytest.param(
        [ANN, ok(BOOK, 1, "ann", (2, 4)), no(LOCK, 1, "ben", (3, 5), booked(1))],
        {1: sold(1, "ann")}, 0, id="refusal racing the booking",
    ),
    pytest.param(
        [ANN, no(BOOK, 1, "ann", (0.5, 0.6), not_locked(1))], {}, 0, id="book racing its lock"
    ),
    pytest.param(
        [ANN, no(BOOK, 1, "ann", (2, 3), not_locked(1))], {}, 0,
        id="a book at an unknown store time may be late",
    ),
    pytest.param(
        [ANN, no(LOCK, 1, "ben", (2, 3), held(1, "ann"), window=(109.9, 109.9))], {}, 0,
        id="refused just before the deadline",
    ),
    pytest.param(
        [
            raised(LOCK, 1, "ann", (0, 1), unknown=True),
            no(LOCK, 1, "ben", (2, 3), held(1, "ann")),
            ok(CANCEL, 1, "ann", (4, 5)),
        ],
        {}, 0, id="a lock of unknown outcome may have happened",
    ),
    pytest.param(
        [ANN, raised(BOOK, 1, "ann", (2, 3), unknown=True)], {1: sold(1, "ann")}, 0,
        id="a booking of unknown outcome may have happened",
    ),
    pytest.param(
        [raised(LOCK, 1, "ann", (0, 1), unknown=False), lock(1, "ben", (2, 3), 1, 102)], {}, 0,
        id="a call not performed changed nothing",
    ),
    pytest.param(
        [
            lock([1, 2], "ann", (0, 1), 1, 100),
            ok(BOOK_BULK, [2, 1], "ann", (2, 3)),
            no(LOCK_BULK, [2, 3], "ben", (4, 5), booked(2)),
        ],
        {1: sold(1, "ann"), 2: sold(2, "ann"), 3: free(3)}, 0, id="bulk calls in any order",
    ),
    pytest.param(
        [ANN, lock(1, "ann", (2, 3), 2, 110), ok(CANCEL, 1, "ann", (4, 5))], {}, 0,
        id="relocked after expiry, then cancelled",
    ),
    pytest.param(
        [ANN, lock(2, "ben", (2, 3), 2, 111)], {1: free(1), 2: locked(2, "ben", 2, 121)}, 1,
        id="an expired hold cleaned up",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("operations", "final", "released"), CORRECT)
def test_correct_tricky_histories_pass(
    operations: list[Operation], final: dict[SeatId, SeatStatus], released: int
) -> None:
    verdict = check(operations, final or None, released=released)
    assert verdict, verdict.report()


# -- recording ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "unknown"),
    [
        (OutcomeUnknownError("reply lost"), True),
        (RuntimeError("a driver error nobody mapped"), True),
        (NotPerformedError("never sent"), False),
        (TypeError("seat id must be an int or a str"), False),
    ],
)
def test_a_call_that_raises_is_logged_with_its_fate(error: Exception, unknown: bool) -> None:
    history = History(store_clock=lambda: 7.0)

    def fail() -> Result:
        raise error

    with pytest.raises(type(error)):
        history.run(Op.CANCEL, [3], "ann", 5, fail)
    (operation,) = history.operations
    assert (operation.reason, operation.unknown, operation.seat_ids) == (None, unknown, (3,))
    assert operation.error == f"{type(error).__name__}: {error}"
    assert operation.call <= operation.ret
    assert operation.store_window == (7.0, 7.0)
    assert "raised" in str(operation)


def test_the_recorder_logs_results_times_and_cleanups() -> None:
    clock = FakeClock()
    history = History(store_clock=clock)
    manager = history.record(SeatManager([1, 2, 3], 5, clock=clock))
    assert manager.lock_seats_bulk((2, 1), "ann")
    assert not manager.lock_seat(1, "ben")
    clock.advance(5)
    assert manager.cleanup_expired_locks() == 2
    assert manager.lock_seat(2, "ben")
    assert manager.book_a_seat(2, "ben")
    assert not manager.book_seats_bulk([1, 3], "ann")
    assert not manager.cancel_lock(3, "ben")
    assert not manager.cancel_locks_bulk([3], "ben")
    first, refused, *_ = operations = history.operations
    assert [o.op for o in operations] == [
        LOCK_BULK,
        LOCK,
        LOCK,
        BOOK,
        BOOK_BULK,
        CANCEL,
        CANCEL_BULK,
    ]
    assert (first.seat_ids, first.token, first.deadline, first.lock_timeout) == ((2, 1), 1, 1005, 5)
    assert refused.conflicts == (Conflict(1, Reason.HELD_BY_OTHER, "ann"),)
    assert history.released == 2
    assert all(o.store_window in ((1000, 1000), (1005, 1005)) for o in operations)
    verdict = check(operations, final_state(manager.manager, [1, 2, 3]), released=2)
    assert verdict, verdict.report()
    assert (verdict.locks, verdict.holds, verdict.booked, verdict.expired) == (2, 3, 1, 2)
    assert verdict.summary().endswith("no violation")


# -- stores with planted bugs ------------------------------------------------------------

SEATS: list[SeatId] = [*range(36), "a", "b", "c", "d"]
EXPECTED: dict[Bug, Kind] = {
    "steal": Kind.LOCK_STOLEN,
    "book_any": Kind.NOT_HOLDER,
    "book_late": Kind.AFTER_EXPIRY,
    "partial": Kind.PARTIAL_BULK,
    "racy": Kind.LOCK_STOLEN,
    "lost": Kind.LOST_BOOKING,
    "token": Kind.TOKEN_ORDER,
    "stale": Kind.UNEXPLAINED_RESULT,
}
MAX_ROUNDS = 150
"""A bug that strikes rarely may need many rounds of the workload to show as its kind: a
late book by the holder of a seat nobody took meanwhile shows as after_expiry in about one
round in 7 (18 of 120 measured; 20 rounds missed it in one run of six). As often it is
caught as an unexplained refusal (a bulk book refused for another seat that does not list
the expired one), which does not count here. Rounds stop at the first catch, so a run
takes a few; 150 make a miss a 1e-9 chance."""


def torture(store: Store, seed: int) -> Verdict:
    """One round of the threaded workload on a fresh event of ``store``, checked."""
    clock = FakeClock()
    managers = [SeatManager(SEATS, t, store=store, clock=clock) for t in (0.05, 0.08)]
    history = History(store_clock=clock)
    run_clients(
        managers, SEATS, history, seed=seed, ops=300, advance=functools.partial(clock.advance, 0.01)
    )
    return check(history.operations, final_state(managers[0], SEATS), released=history.released)


@pytest.mark.usefixtures("fine_switching")
@pytest.mark.parametrize("bug", list(BUGS))
def test_a_store_with_a_planted_bug_fails(bug: Bug) -> None:
    found: set[Kind] = set()
    for seed in range(MAX_ROUNDS):
        verdict = torture(PlantedStore(bug), seed)
        found |= verdict.kinds
        if EXPECTED[bug] in found:
            return
    pytest.fail(f"{bug} ({BUGS[bug]}) not caught as {EXPECTED[bug].value}: found {found}")


def _memory_store(engine: str) -> Store:
    need_memory_engine(engine)
    return MemoryStore(engine)


CORRECT_STORES: dict[str, Callable[[], Store]] = {
    "no bug planted": PlantedStore,
    "memory": functools.partial(_memory_store, "c"),
    "memory-python": functools.partial(_memory_store, "python"),
}


@pytest.mark.usefixtures("fine_switching")
@pytest.mark.parametrize("store", list(CORRECT_STORES))
def test_the_same_workload_passes_on_a_correct_store(store: str) -> None:
    for seed in range(4):
        verdict = torture(CORRECT_STORES[store](), seed)
        assert verdict, verdict.report()
        assert verdict.booked > len(SEATS) // 2, verdict.summary()
        assert verdict.expired > 0, verdict.summary()


# -- the real engine, one call at a time -------------------------------------------------

USERS: list[UserId] = ["ann", "ben", 1, "1"]
steps = st.lists(
    st.one_of(
        st.tuples(
            st.sampled_from(["lock", "book", "cancel"]),
            st.lists(st.sampled_from([1, 2, 3, "a", "1"]), min_size=1, max_size=3, unique=True),
            st.sampled_from(USERS),
            st.booleans(),
        ),
        st.tuples(
            st.just("advance"), st.sampled_from([0.5, 1.0, 2.5, 3.0]), st.just(""), st.just(False)
        ),
        st.tuples(st.just("cleanup"), st.just(0), st.just(""), st.just(False)),
    ),
    max_size=60,
)  # fmt: skip


@pytest.mark.parametrize("engine", ["c", "python"])
@settings(max_examples=200, derandomize=True, database=None, deadline=None)
@given(steps)
def test_sequential_histories_of_the_real_engine_pass(
    engine: str, plan: Sequence[tuple[str, Any, UserId, bool]]
) -> None:
    need_memory_engine(engine)
    clock = FakeClock()
    history = History(store_clock=clock)
    store = f"memory://?engine={engine}"  # seat "1" is no seat of its event
    manager = history.record(SeatManager([1, 2, 3, "a"], 3, clock=clock, store=store))
    for kind, arg, user, bulk in plan:
        if kind == "advance":
            clock.advance(arg)
        elif kind == "cleanup":
            manager.cleanup_expired_locks()
        else:
            ids: list[SeatId] = arg
            if bulk or len(ids) > 1:
                method = {"lock": manager.lock_seats_bulk, "book": manager.book_seats_bulk}
                method.get(kind, manager.cancel_locks_bulk)(ids, user)
            else:
                single = {"lock": manager.lock_seat, "book": manager.book_a_seat}
                single.get(kind, manager.cancel_lock)(ids[0], user)
    final = final_state(manager.manager, manager.manager.seat_ids())
    verdict = check(history.operations, final, released=history.released)
    assert verdict, verdict.report()


# -- the soak command --------------------------------------------------------------------


def test_soak_runs_rounds_and_reports(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["soak", "--store", "memory://", "--seconds", "0.4", "--round", "0.2", "--seats", "8"]
    assert soak_main(args) == 0
    out = capsys.readouterr().out
    assert "round 1: " in out
    assert out.strip().endswith("no violation")


def test_soak_refuses_processes_on_a_private_store(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        soak_main(["soak", "--store", "memory://", "--processes", "2"])
    assert "private to one process" in capsys.readouterr().err
