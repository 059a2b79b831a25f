"""The memory store's C engine (``_memory_core``) against its pure-Python twin.

The conformance suite runs on both engines ("memory" and "memory-python"); this module
checks what it cannot see from the outside of one: that the C calls' own argument checks,
repeat finding and labels answer exactly as the Python engine does, that the Python slow
paths C calls with the mutex held (the late heap, compaction) are reached and work, what a
strange or failing clock does, that a random run gives identical results and an identical
data layout on both, that threads hammering one C event keep the contract, and that the C
calls leak no references. Every clock here is injected: nothing sleeps.
"""

from __future__ import annotations

import gc
import os
import random
import re
import sys
import threading
import weakref
from collections import Counter, UserList
from collections.abc import Callable, Iterable, Sequence
from types import ModuleType
from typing import Any, NamedTuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seatlock import Op, Reason, Result, SeatManager, SeatState
from seatlock.results import SeatId, UserId
from seatlock.stores import memory
from seatlock.stores.memory import (
    ENGINES,
    CompiledMemoryEventStore,
    MemoryEvent,
    MemoryEventStore,
    MemoryStore,
)
from seatlock.testing import History, check, final_state

from ..conformance.support import FakeClock, MemoryVenue, run_together
from ..services import need_memory_engine

AVAILABLE, LOCKED, BOOKED = SeatState
BOTH = ("c", "python")
SINGLE = ("lock_seat", "book_a_seat", "cancel_lock")
BULK = ("lock_seats_bulk", "book_seats_bulk", "cancel_locks_bulk")
CALLS = SINGLE + BULK


@pytest.fixture(autouse=True)
def _c_engine() -> None:
    """Every test here needs the C engine: skip without it (fail under ``CI=true``)."""
    need_memory_engine("c")


# -- helpers ------------------------------------------------------------------------------


class Clock:
    """A clock that moves only when told (``now`` may be any object), or raises ``error``."""

    def __init__(self, now: Any = 1000.0) -> None:
        self.now = now
        self.error: BaseException | None = None

    def __call__(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.now


class IntId(int):
    """An ``int`` subclass: the checks hand the store a plain ``int``."""


class StrId(str):
    """A ``str`` subclass: the checks hand the store a plain ``str``."""


class TupleIds(tuple[SeatId, ...]):
    """A ``tuple`` subclass of seat ids: a sequence, not a tuple to keep."""


class ListIds(list[SeatId]):
    """A ``list`` subclass of seat ids: a sequence, not a list to copy."""


class Outcome(NamedTuple):
    """What a call did, comparable across engines: a result's every field (with the types
    of its ids: plain or not), an error, or what a read returned."""

    kind: str
    """``"result"``, ``"raised"`` or ``"returned"`` (a read, or cleanup's count)."""
    text: str = ""
    """``str()`` of the result, or the error's message."""
    error: type | None = None
    value: Any = None
    value_type: type | None = None
    op: Op | None = None
    reason: Reason | None = None
    seat_ids: tuple[SeatId, ...] = ()
    seat_types: tuple[type, ...] = ()
    user_id: object = None
    user_type: type | None = None
    conflicts: tuple[object, ...] = ()
    deadline: object = None
    deadline_type: type | None = None
    token: int | None = None


def outcome(call: Callable[..., object], *args: object, **kwargs: object) -> Outcome:
    """Call ``call`` and say what it did."""
    try:
        value = call(*args, **kwargs)
    except Exception as exc:  # compared by the callers: both engines must raise alike
        return Outcome("raised", str(exc), type(exc))
    if not isinstance(value, Result):
        return Outcome("returned", value=value, value_type=type(value))
    return Outcome(
        "result",
        str(value),
        op=value.op,
        reason=value.reason,
        seat_ids=value.seat_ids,
        seat_types=tuple(type(s) for s in value.seat_ids),
        user_id=value.user_id,
        user_type=type(value.user_id),
        conflicts=value.conflicts,
        deadline=value.deadline,
        deadline_type=type(value.deadline),
        token=value.token,
    )


def event_of(manager: SeatManager) -> MemoryEvent:
    """The event layout behind a memory store manager (an ``EventCore`` for C)."""
    seats = manager._seats
    assert isinstance(seats, MemoryEventStore)
    return seats._event


def layout(event: MemoryEvent) -> tuple[object, ...]:
    """Everything in an event's layout (module docstring of ``seatlock.stores.memory``)."""
    return (
        dict(event.state),
        dict(event.holder),
        dict(event.token),
        list(event.due_seats),
        list(event.due_times),
        event.due_head,
        event.last_due,
        list(event.late),
        event.late_count,
        event.tokens,
        event.compact_at,
    )


class Pair:
    """One event's seats on each engine, each on its own clock, both moved in step.

    ``same(name, ...)`` calls ``name`` on both managers and asserts the outcomes equal.
    """

    def __init__(
        self, seats: Iterable[SeatId], lock_timeout: float = 10.0, start: Any = 1000.0
    ) -> None:
        seat_list = list(seats)
        self.clocks = {engine: Clock(start) for engine in BOTH}
        self.managers = {
            engine: SeatManager(
                seat_list, lock_timeout, clock=self.clocks[engine], store=MemoryStore(engine)
            )
            for engine in BOTH
        }
        self.c = self.managers["c"]
        self.python = self.managers["python"]
        assert isinstance(self.c._seats, CompiledMemoryEventStore)
        assert not isinstance(self.python._seats, CompiledMemoryEventStore)

    def set_time(self, now: Any) -> None:
        for clock in self.clocks.values():
            clock.now = now

    def advance(self, seconds: float) -> None:
        for clock in self.clocks.values():
            clock.now += seconds

    def same(self, name: str, *args: object, **kwargs: object) -> Outcome:
        got = {e: outcome(getattr(m, name), *args, **kwargs) for e, m in self.managers.items()}
        assert got["c"] == got["python"], f"{name}{args!r} {kwargs!r}: {got}"
        return got["c"]

    def events(self) -> tuple[MemoryEvent, MemoryEvent]:
        return event_of(self.c), event_of(self.python)

    def assert_same_state(self, seat_ids: Iterable[SeatId]) -> None:
        """Both engines hold the same seats, reads and layout now."""
        for seat_id in seat_ids:
            self.same("seat_status", seat_id)
        self.same("counts")
        for state in (None, *SeatState):
            self.same("seat_ids", state)
        c_event, python_event = self.events()
        assert layout(c_event) == layout(python_event)


def core() -> ModuleType:
    """The C engine's module (the autouse fixture has made sure it is built)."""
    assert memory._core is not None
    return memory._core


def finishes(call: Callable[[], object], within: float = 30.0) -> object:
    """``call()`` run in a thread: what it returned. Fails (instead of hanging the run)
    if it is still blocked after ``within`` seconds: an event mutex left held."""
    returned: list[object] = []
    thread = threading.Thread(target=lambda: returned.append(call()), daemon=True)
    thread.start()
    thread.join(within)
    assert not thread.is_alive(), "the call blocked: the event's mutex was left held"
    assert returned, "the call raised (see the thread's exception above)"
    return returned[0]


# -- the engines ---------------------------------------------------------------------------


def test_the_c_engine_is_the_default_and_its_calls_are_compiled() -> None:
    assert ENGINES == ("c", "python")
    default = SeatManager([1])
    assert isinstance(default._seats, CompiledMemoryEventStore)
    assert isinstance(event_of(default), core().EventCore)
    for name in CALLS:  # the manager hands the caller the C methods themselves
        assert type(getattr(default, name).__self__) is core().Calls, name
    pure = SeatManager([1], store="memory://?engine=python")
    assert type(event_of(pure)) is MemoryEvent
    for name in CALLS:
        assert not isinstance(getattr(pure, name).__self__, core().Calls), name


@pytest.mark.parametrize("field", ["state", "holder", "token", "due_seats", "due_times", "late"])
def test_the_c_layout_fields_cannot_be_deleted_or_replaced_by_a_wrong_kind(field: str) -> None:
    manager = SeatManager([1])
    event = event_of(manager)
    with pytest.raises((AttributeError, TypeError)):
        delattr(event, field)
    with pytest.raises((AttributeError, TypeError)):
        setattr(event, field, ())
    assert manager.lock_seat(1, "ann")  # the operations still find every field
    assert manager.cleanup_expired_locks() == 0


@pytest.mark.parametrize(
    ("url", "engine"),
    [("memory://", "c"), ("memory://?engine=c", "c"), ("memory://?engine=python", "python")],
)
def test_the_url_chooses_the_engine(url: str, engine: str) -> None:
    store = MemoryStore.from_url(url)
    assert store.engine == engine
    view = store.open_event("show", 10.0, None)
    assert isinstance(view, CompiledMemoryEventStore) is (engine == "c")


@pytest.mark.parametrize(
    ("url", "named"),
    [
        (
            "memory://?engine=rust",
            "engine 'rust' is not available here; choose from ('c', 'python')",
        ),
        ("memory://?engine=", "engine '' is not available"),
        ("memory://?engine=c&x=1", "not 'memory://?engine=c&x=1'"),
        ("memory://x?engine=python", "not 'memory://x?engine=python'"),
    ],
)
def test_a_bad_engine_or_url_is_refused_naming_it(url: str, named: str) -> None:
    with pytest.raises(ValueError, match=re.escape(named)):
        MemoryStore.from_url(url)


@pytest.mark.parametrize("engine", BOTH)
def test_the_conformance_venues_run_the_engine_they_name(engine: str) -> None:
    venue = MemoryVenue("show", engine)
    try:
        manager = venue.manager([1])
        compiled = isinstance(getattr(manager.lock_seat, "__self__", None), core().Calls)
        assert compiled is (engine == "c")
    finally:
        venue.close()


# -- argument checks: the C fast path, its fallback and the Python engine agree --------------

BIG = 10**255
"""The largest magnitude of int id digits allow (256 digits); 10**256 has 257."""
AROUND_C_SMALL = [
    10**18 - 1,
    10**18,
    -(10**18) + 1,
    -(10**18),
    10**19 - 1,
    -(10**19) + 1,
    2**63 - 1,
    2**63,
    -(2**63),
    -(2**63) - 1,
]
"""Ints on either side of the C checks' small-int limit (18 digits) and of a C long long."""
SEATS: list[SeatId] = [*range(40), -1, -2, "a", "b", BIG, -BIG, *AROUND_C_SMALL]


def ok_plain(seat_type: type, user_type: type) -> tuple[str, type, type]:
    return ("ok", seat_type, user_type)


@pytest.mark.parametrize(
    ("seat_id", "user_id", "expected"),
    [
        (1, "ann", ok_plain(int, str)),
        ("a", 7, ok_plain(str, int)),
        (IntId(1), "ann", ok_plain(int, str)),
        (StrId("a"), "ann", ok_plain(str, str)),
        (1, StrId("ann"), ok_plain(int, str)),
        (1, IntId(7), ok_plain(int, int)),
        (IntId(-2), IntId(-1), ok_plain(int, int)),
        (True, "ann", TypeError),
        (False, "ann", TypeError),
        (1, True, TypeError),
        (1, False, TypeError),
        (1, "", ValueError),
        (1, StrId(""), ValueError),
        (True, "", TypeError),  # the seat is checked first
        (10**256, "ann", ValueError),
        (-(10**256), "ann", ValueError),
        (1, 10**256, ValueError),
        (1, -(10**256), ValueError),
        (IntId(10**256), "ann", ValueError),
        (BIG, "ann", ok_plain(int, str)),
        (-BIG, "ann", ok_plain(int, str)),
        (1, BIG, ok_plain(int, int)),
        (1, -BIG, ok_plain(int, int)),
        *[(n, "ann", ok_plain(int, str)) for n in AROUND_C_SMALL],
        *[(1, n, ok_plain(int, int)) for n in AROUND_C_SMALL],
        (1.0, "ann", TypeError),
        (None, "ann", TypeError),
        (b"a", "ann", TypeError),
        (1, None, TypeError),
        (1, 1.5, TypeError),
        (1, b"ann", TypeError),
        ("zz", "ann", ("refused", Reason.UNKNOWN_SEAT)),
        (99, "ann", ("refused", Reason.UNKNOWN_SEAT)),
        ("1", "ann", ("refused", Reason.UNKNOWN_SEAT)),  # 1 is a seat; "1" is not
    ],
)
def test_single_seat_arguments_read_the_same_on_both_engines(
    seat_id: object, user_id: object, expected: Any
) -> None:
    pair = Pair(SEATS)
    other = "zed"
    # lock, lock again (held by you), lock by another, book, then a lock of a booked seat;
    # and on a fresh seat state: cancel, cancel again (not locked), book (not locked)
    first = pair.same("lock_seat", seat_id, user_id)
    for name, user in [
        ("lock_seat", user_id),
        ("lock_seat", other),
        ("book_a_seat", other),
        ("cancel_lock", other),
        ("book_a_seat", user_id),
        ("lock_seat", user_id),
        ("cancel_lock", user_id),
    ]:
        pair.same(name, seat_id, user)
    fresh = Pair(SEATS)
    for name in ("cancel_lock", "book_a_seat", "lock_seat", "cancel_lock", "book_a_seat"):
        fresh.same(name, seat_id, user_id)
    pair.assert_same_state(SEATS)
    fresh.assert_same_state(SEATS)

    if isinstance(expected, type):
        assert (first.kind, first.error) == ("raised", expected), first
        return
    assert first.kind == "result", first
    if expected[0] == "refused":
        assert first.reason is expected[1], first
        return
    _, seat_type, user_type = expected
    assert first.reason is Reason.OK, first
    assert first.seat_types == (seat_type,)
    assert first.user_type is user_type
    plain_seat = first.seat_ids[0]
    status = pair.c.seat_status(plain_seat)
    assert status.state is BOOKED
    assert type(status.holder) is user_type  # the C call stored the plain id
    assert all(type(s) in (int, str) for s in event_of(pair.c).state)


NAMED: list[tuple[tuple[object, ...], dict[str, object], bool]] = [
    ((1, "ann"), {}, True),
    ((1,), {"user_id": "ann"}, True),
    ((), {"user_id": "ann", "FIRST": 1}, True),
    ((), {"FIRST": 1, "user_id": "ann"}, True),
    ((1,), {}, False),
    ((), {}, False),
    ((1, "ann", "ben"), {}, False),
    ((1, "ann"), {"user_id": "ben"}, False),
    ((1,), {"FIRST": 1}, False),
    ((1, "ann"), {"FIRST": 1}, False),
    ((1, "ann"), {"label": "x"}, False),
    ((), {"user_id": "ann"}, False),
    ((), {"FIRST": 1}, False),
    ((), {"seat": 1, "user": "ann"}, False),
    ((1,), {"user_id": "ann", "other": 2}, False),
]
"""(positional, keyword arguments, whether the call is well formed); FIRST stands for the
first parameter's name: ``seat_id`` or, in bulk calls, ``seat_ids``."""


@pytest.mark.parametrize("name", CALLS)
@pytest.mark.parametrize(("args", "kwargs", "well_formed"), NAMED)
def test_calls_take_their_arguments_as_the_python_methods_do(
    name: str, args: tuple[object, ...], kwargs: dict[str, object], well_formed: bool
) -> None:
    bulk = name in BULK
    first = "seat_ids" if bulk else "seat_id"
    kwargs = {first if k == "FIRST" else k: v for k, v in kwargs.items()}
    if bulk:
        args = tuple([a] if i == 0 else a for i, a in enumerate(args))
        kwargs = {k: [v] if k == first else v for k, v in kwargs.items()}
    pair = Pair(SEATS)
    if name not in {"lock_seat", "lock_seats_bulk"}:
        pair.same("lock_seat", 1, "ann")
    got = {e: outcome(getattr(m, name), *args, **kwargs) for e, m in pair.managers.items()}
    if well_formed:
        assert got["c"] == got["python"]
        assert got["c"].kind == "result"
        assert got["c"].reason is Reason.OK, got
    else:  # the messages differ (C names its own call); the error and its effect do not
        assert got["c"].error is got["python"].error is TypeError, got
    pair.assert_same_state(SEATS)


@pytest.mark.parametrize("name", ["lock", "book", "cancel", "lock_many", "book_many"])
def test_the_store_level_calls_take_positional_arguments_only(name: str) -> None:
    pair = Pair(SEATS)
    view = pair.c._seats
    assert isinstance(view, CompiledMemoryEventStore)
    method = getattr(view._calls, name)
    args: tuple[object, ...] = ((1,), "ann", "label") if name.endswith("_many") else (1, "ann")
    with pytest.raises(TypeError):
        method(*args[:-1])
    with pytest.raises(TypeError):
        method(*args, "extra")
    with pytest.raises(TypeError):
        method(*args[:-1], **{"x": args[-1]})
    if name.endswith("_many"):
        with pytest.raises(TypeError, match="tuple"):
            method([1], "ann", "label")
    assert event_of(pair.c).tokens == 0
    assert method(*args).reason in (Reason.OK, Reason.NOT_LOCKED)


# -- bulk ids: repeats, the set and the pairwise paths, sequences ---------------------------

BULK_CASES: list[tuple[str, object, object]] = [
    ("same hash, not equal", [-1, -2], Reason.OK),
    ("same hash, other order", (-2, -1), Reason.OK),
    ("repeat", [1, 1], ValueError),
    ("repeat in a tuple", (1, 2, 1), ValueError),
    ("a bool", [1, True], TypeError),
    ("a bool first", [True, 1], TypeError),
    ("a repeat after conversion", [1, IntId(1)], ValueError),
    ("a str repeat after conversion", [StrId("a"), "a"], ValueError),
    ("twins by text are not repeats", [1, "1"], Reason.UNKNOWN_SEAT),
    ("32: pairwise, no repeat", list(range(32)), Reason.OK),
    ("32: pairwise, repeat last", [*range(31), 0], ValueError),
    ("32: pairwise, hash twins", [-1, -2, *range(30)], Reason.OK),
    ("33: the set, no repeat", list(range(33)), Reason.OK),
    ("33: the set, repeat last", [*range(32), 31], ValueError),
    ("33: the set, hash twins", [*range(31), -2, -1], Reason.OK),
    ("40: the set, repeat first", [5, *range(39)], ValueError),
    ("40: one unknown", [*range(39), 99], Reason.UNKNOWN_SEAT),
    ("33: not plain (slow path)", [IntId(0), *range(1, 33)], Reason.OK),
    ("33: not plain, repeat", [IntId(0), *range(32)], ValueError),
    ("big ids", [BIG, -BIG], Reason.OK),
    ("too big an id", [1, 10**256], ValueError),
    ("around the C small int", AROUND_C_SMALL, Reason.OK),
    ("slow path repeat", [10**18, 10**18], ValueError),
    ("fast path repeat", [10**18 - 1, 10**18 - 1], ValueError),
    ("long long edge repeat", [2**63, 1, 2**63], ValueError),
    ("empty list", [], ValueError),
    ("empty tuple", (), ValueError),
    ("a str", "ab", TypeError),
    ("bytes", b"ab", TypeError),
    ("a set", {1, 2}, TypeError),
    ("a dict", {1: 2}, TypeError),
    ("an int", 1, TypeError),
    ("None", None, TypeError),
    ("a float inside", [1, 2.0], TypeError),
    ("None inside", [None], TypeError),
    ("a range", range(1, 3), Reason.OK),
    ("a UserList", UserList([1, 2]), Reason.OK),
    ("a tuple subclass", TupleIds((1, 2)), Reason.OK),
    ("a list subclass", ListIds([1, 2]), Reason.OK),
    ("a tuple subclass with a repeat", TupleIds((1, 1)), ValueError),
]


@pytest.mark.parametrize(
    ("seat_ids", "expected"), [c[1:] for c in BULK_CASES], ids=[c[0] for c in BULK_CASES]
)
@pytest.mark.parametrize("user_id", ["ann", 7, StrId("ann"), "", True])
def test_bulk_seat_ids_read_the_same_on_both_engines(
    seat_ids: object, expected: object, user_id: object
) -> None:
    if isinstance(seat_ids, list) and seat_ids == [-1, -2]:
        assert hash(-1) == hash(-2)  # what makes this case a trap for a hash-only check
    pair = Pair(SEATS)
    first = pair.same("lock_seats_bulk", seat_ids, user_id)
    for name, user in [
        ("lock_seats_bulk", user_id),
        ("lock_seats_bulk", "zed"),
        ("book_seats_bulk", "zed"),
        ("cancel_locks_bulk", user_id),
        ("lock_seats_bulk", user_id),
        ("book_seats_bulk", user_id),
        ("cancel_locks_bulk", user_id),
        ("lock_seats_bulk", "zed"),
    ]:
        pair.same(name, seat_ids, user)
    pair.assert_same_state(SEATS)

    user_error = TypeError if user_id is True else ValueError if user_id == "" else None
    if isinstance(expected, type):  # the ids are checked before the user
        assert first.error is expected, first
    elif user_error is not None:
        assert first.error is user_error, first
    else:
        assert first.kind == "result", first
        assert first.reason is expected, first
        assert all(t in (int, str) for t in first.seat_types)


@pytest.mark.parametrize("engine", BOTH)
@pytest.mark.parametrize("name", BULK)
def test_a_bulk_message_prints_the_ids_as_passed_at_the_call(engine: str, name: str) -> None:
    clock = Clock()
    manager = SeatManager(range(1, 9), 10, clock=clock, store=MemoryStore(engine))

    def call(seat_ids: Sequence[SeatId]) -> Result:
        if name != "lock_seats_bulk":
            assert manager.lock_seats_bulk(list(seat_ids), "ann")
        result: Result = getattr(manager, name)(seat_ids, "ann")
        assert result, result
        assert result.seat_ids == tuple(seat_ids)
        return result

    verb = {
        "lock_seats_bulk": "Seats {} locked by ann",
        "book_seats_bulk": "Seats {} successfully booked by ann",
        "cancel_locks_bulk": "Locks for seats {} cancelled by ann",
    }[name]
    kept = (1, 2)
    assert str(call(kept)) == verb.format("(1, 2)")
    listed = [3, 4]
    result = call(listed)
    listed.append(9)
    listed[0] = 0
    assert str(result) == verb.format("[3, 4]")  # a copy: later changes do not show
    assert result.seat_ids == (3, 4)
    other = UserList([5, 6])
    result = call(other)
    other.append(9)
    assert str(result) == verb.format("[5, 6]")  # printed at the call
    subclass = ListIds([7, 8])
    result = call(subclass)
    subclass.append(9)
    assert str(result) == verb.format("[7, 8]")


# -- the late heap and compaction, reached from C ------------------------------------------


def test_a_deadline_before_the_queues_last_goes_on_the_late_heap_and_expires_on_time() -> None:
    pair = Pair(range(1, 9), lock_timeout=10.0, start=1000.0)
    c_event, python_event = pair.events()
    assert pair.same("lock_seat", 1, "ann").reason is Reason.OK  # deadline 1010: on the queue
    pair.set_time(900.0)  # the clock steps back
    assert pair.same("lock_seat", 2, "ben").reason is Reason.OK  # deadline 910: late
    assert pair.same("lock_seats_bulk", (3, 4), "cat").reason is Reason.OK  # 910 too, late
    assert pair.same("lock_seat", 5, "dan").reason is Reason.OK
    assert pair.same("cancel_lock", 5, "dan").reason is Reason.OK  # its late entry is stale
    assert pair.same("lock_seat", 6, "eve").reason is Reason.OK
    assert pair.same("book_a_seat", 6, "eve").reason is Reason.OK  # booked: never released
    assert c_event.due_seats[c_event.due_head :] == [1]
    assert sorted(seat for _, _, seat in c_event.late) == [2, 3, 4, 5, 6]
    assert all(deadline == 910.0 for deadline, _, _ in c_event.late)
    assert c_event.late_count == 5
    pair.assert_same_state(range(1, 9))

    pair.set_time(909.5)
    assert pair.same("cleanup_expired_locks").value == 0
    assert pair.same("seat_status", 2).value.state is LOCKED
    pair.set_time(910.0)
    assert pair.same("cleanup_expired_locks").value == 3  # 2, 3 and 4
    assert c_event.late == []
    assert pair.same("counts").value == {AVAILABLE: 6, LOCKED: 1, BOOKED: 1}
    pair.set_time(1009.5)
    assert pair.same("cleanup_expired_locks").value == 0
    pair.set_time(1010.0)
    assert pair.same("cleanup_expired_locks").value == 1
    assert pair.same("counts").value == {AVAILABLE: 7, LOCKED: 0, BOOKED: 1}
    assert c_event.due_seats[c_event.due_head :] == []
    pair.assert_same_state(range(1, 9))
    assert python_event.late == []


@pytest.mark.parametrize("bulk", [False, True], ids=["single", "bulk"])
def test_compaction_keeps_the_queue_bounded_and_cleanup_right(bulk: bool) -> None:
    pair = Pair(range(1, 6), lock_timeout=10.0, start=1000.0)
    c_event = event_of(pair.c)
    compact_at = c_event.compact_at
    assert compact_at == memory._COMPACT_AT + 2 * 5
    assert pair.same("lock_seat", 5, "keeper").reason is Reason.OK  # live through compactions
    longest = 0
    cycles = 3 * compact_at // (3 if bulk else 1)
    for n in range(cycles):
        if bulk:
            for manager in (pair.c, pair.python):
                assert manager.lock_seats_bulk([1, 2, 3], "ann")
                assert manager.cancel_locks_bulk([1, 2, 3], "ann")
        else:
            seat = 1 + n % 4
            assert pair.c.lock_seat(seat, "ann")
            assert pair.c.cancel_lock(seat, "ann")
            assert pair.python.lock_seat(seat, "ann")
            assert pair.python.cancel_lock(seat, "ann")
        longest = max(longest, len(c_event.due_seats) - c_event.due_head)
        pair.advance(1e-4)
    # 3 * compact_at entries went on the queue; compaction dropped the stale ones
    assert longest <= compact_at + 3
    assert len(c_event.due_seats) < compact_at
    assert c_event.due_seats.count(5) == 1  # the live lock's entry survived
    pair.assert_same_state(range(1, 6))

    pair.same("lock_seat", 1, "ben")
    pair.advance(5.0)
    pair.same("lock_seats_bulk", [2, 3], "cat")
    pair.set_time(1010.0)  # the keeper's lock expires
    assert pair.same("cleanup_expired_locks").value == 1
    assert pair.same("seat_status", 5).value.state is AVAILABLE
    pair.advance(5.0)
    assert pair.same("cleanup_expired_locks").value == 1  # ben's
    pair.advance(5.0)
    assert pair.same("cleanup_expired_locks").value == 2  # cat's two
    assert pair.same("counts").value == {AVAILABLE: 5, LOCKED: 0, BOOKED: 0}
    pair.assert_same_state(range(1, 6))


@pytest.mark.parametrize("engine", BOTH)
def test_the_late_heap_stays_bounded_too(engine: str) -> None:
    clock = Clock(1_000_000.0)
    manager = SeatManager([1, 2, 3], 10, clock=clock, store=MemoryStore(engine))
    event = event_of(manager)
    assert manager.lock_seat(1, "ann")
    clock.now = 0.0  # steps back: every later deadline is earlier than the queue's last
    for _ in range(3 * event.compact_at):
        assert manager.lock_seat(2, "ann")
        assert manager.cancel_lock(2, "ann")
        clock.now += 1e-3
    assert len(event.late) <= event.compact_at


# -- clocks --------------------------------------------------------------------------------


def test_a_clock_of_ints_gives_int_deadlines_on_both_engines() -> None:
    pair = Pair(range(1, 5), lock_timeout=5, start=100)
    locked = pair.same("lock_seat", 1, "ann")
    assert (locked.deadline, locked.deadline_type, locked.token) == (105, int, 1)
    status = pair.same("seat_status", 1).value
    assert (status.deadline, status.time_left) == (105, 5)
    assert type(status.time_left) is int
    pair.set_time(104)
    bulk = pair.same("lock_seats_bulk", [2, 3], "ben")
    assert (bulk.deadline, bulk.deadline_type, bulk.token) == (109, int, 2)
    assert pair.same("lock_seat", 1, "ben").reason is Reason.HELD_BY_OTHER
    pair.set_time(105)  # a deadline is the first instant the lock is gone
    again = pair.same("lock_seat", 1, "ben")  # over the expired lock
    assert (again.deadline, again.deadline_type, again.token) == (110, int, 3)
    assert pair.same("book_seats_bulk", [2, 3], "ben").reason is Reason.OK
    pair.set_time(105.5)  # a float now and int deadlines compare as numbers
    assert pair.same("cancel_lock", 1, "ben").reason is Reason.OK
    mixed = pair.same("lock_seat", 4, "cat")
    assert (mixed.deadline, mixed.deadline_type) == (110.5, float)
    pair.set_time(110)
    assert pair.same("cleanup_expired_locks").value == 0  # 4 lives to 110.5
    pair.set_time(111)
    assert pair.same("cleanup_expired_locks").value == 1
    pair.assert_same_state(range(1, 5))


@pytest.mark.parametrize("lock_timeout", [10, 10.0, 0.1])
def test_a_lock_is_gone_at_its_deadline_on_both_engines(lock_timeout: float) -> None:
    pair = Pair(range(1, 7), lock_timeout=lock_timeout, start=1000.0)
    pair.same("lock_seat", 1, "ann")
    pair.same("lock_seats_bulk", [2, 3], "ann")
    pair.same("lock_seats_bulk", (4, 5), "ann")
    pair.same("lock_seat", 6, "ann")
    deadline = pair.same("seat_status", 1).value.deadline
    pair.set_time(deadline - 1e-9 * deadline)  # just before: held
    for name, seat_ids in [("book_a_seat", 1), ("lock_seats_bulk", [2]), ("lock_seat", 4)]:
        assert pair.same(name, seat_ids, "ben").reason is Reason.HELD_BY_OTHER
    pair.set_time(deadline)  # at the deadline: gone, for every call alike
    assert pair.same("book_a_seat", 1, "ann").reason is Reason.NOT_LOCKED
    assert pair.same("cancel_locks_bulk", [2, 3], "ann").reason is Reason.NOT_LOCKED
    assert pair.same("book_seats_bulk", (4, 5), "ann").reason is Reason.NOT_LOCKED
    assert pair.same("cancel_lock", 6, "ann").reason is Reason.NOT_LOCKED
    assert pair.same("lock_seats_bulk", [4, 5], "ben").reason is Reason.OK
    assert pair.same("lock_seat", 6, "ben").reason is Reason.OK
    assert pair.same("cleanup_expired_locks").value == 3  # 1, 2 and 3
    pair.assert_same_state(range(1, 7))


class ClockBrokeError(Exception):
    """What the failing clock raises."""


def c_manager(clock: Clock, seats: Iterable[SeatId] = range(1, 6)) -> SeatManager:
    return SeatManager(seats, 10.0, clock=clock, store=MemoryStore("c"))


FAILING: list[tuple[str, tuple[object, ...]]] = [
    ("lock_seat", (1, "ann")),  # free: would lock
    ("lock_seat", (2, "ann")),  # held by ann: would refuse
    ("lock_seat", (9, "ann")),  # unknown: would refuse
    ("book_a_seat", (2, "ann")),
    ("book_a_seat", (1, "ann")),
    ("cancel_lock", (2, "ann")),
    ("cancel_lock", (2, "ben")),
    ("lock_seats_bulk", ([1, 3], "ann")),
    ("lock_seats_bulk", ([1, 2], "ben")),
    ("lock_seats_bulk", (list(range(40)), "ben")),
    ("book_seats_bulk", ([2, 4], "ann")),
    ("book_seats_bulk", ([2, 1], "ann")),
    ("cancel_locks_bulk", ((2, 4), "ann")),
    ("cancel_locks_bulk", ((4, 2), "ben")),
    ("cleanup_expired_locks", ()),
    ("seat_status", (2,)),
    ("counts", ()),
]


@pytest.mark.parametrize(("name", "args"), FAILING)
def test_a_clock_that_raises_changes_nothing_and_frees_the_mutex(
    name: str, args: tuple[object, ...]
) -> None:
    clock = Clock()
    manager = c_manager(clock)
    assert manager.lock_seats_bulk([2, 4], "ann")
    event = event_of(manager)
    before = layout(event)
    error = ClockBrokeError("the clock broke")
    clock.error = error
    with pytest.raises(ClockBrokeError) as raised:
        getattr(manager, name)(*args)
    assert raised.value is error
    clock.error = None
    assert layout(event) == before
    # a mutex left held would block these forever: they run in a thread with a time limit
    assert finishes(lambda: manager.lock_seat(3, "cat").token) == 2  # no token was spent
    assert finishes(lambda: manager.book_seats_bulk([2, 4], "ann").ok) is True


@pytest.mark.parametrize("name", ["lock_seat", "book_a_seat", "cancel_lock"])
def test_a_clock_that_returns_nonsense_raises_alike_and_changes_nothing(name: str) -> None:
    pair = Pair(range(1, 4))
    pair.same("lock_seat", 1, "ann")
    c_event = event_of(pair.c)
    before = layout(c_event)
    pair.set_time("soon")
    # a live lock is compared with now (the engines word the error differently: C asks
    # ``deadline > now``, Python's book ``deadline <= now``)
    got = {e: outcome(getattr(m, name), 1, "ann") for e, m in pair.managers.items()}
    assert got["c"].error is got["python"].error is TypeError, got
    for seat_id in (2, 3):  # free seats: a lock adds the timeout to now, the others refuse
        result = pair.same(name, seat_id, "ann")
        assert result.kind == ("raised" if name == "lock_seat" else "result"), result
    assert layout(c_event) == before
    pair.set_time(1000.0)
    for seat_id in (1, 2, 3):
        pair.same("seat_status", seat_id)
    assert pair.c.lock_seat(2, "ann").token == 2  # the failed calls took no token


@pytest.mark.parametrize("engine", BOTH)
@pytest.mark.parametrize("bulk", [False, True], ids=["single", "bulk"])
def test_a_lock_that_raises_spends_no_token(engine: str, bulk: bool) -> None:
    clock = Clock()
    manager = SeatManager([1, 2], 10.0, clock=clock, store=MemoryStore(engine))
    event = event_of(manager)
    before = layout(event)
    clock.now = "soon"  # now + lock_timeout raises
    with pytest.raises(TypeError):
        manager.lock_seats_bulk([1, 2], "ann") if bulk else manager.lock_seat(1, "ann")
    assert layout(event) == before


# -- a random run on both engines ----------------------------------------------------------

H_SEATS: list[SeatId] = [1, -1, -2, "a"]
H_ASKED: list[SeatId] = [*H_SEATS, "1"]
"""The event's seats (-1 and -2 share a hash) and "1", the text twin of seat 1 (no seat)."""
H_USERS: list[UserId] = ["ann", 1, "1"]

_single = st.tuples(st.sampled_from(SINGLE), st.sampled_from(H_ASKED), st.sampled_from(H_USERS))
_ids = st.lists(st.sampled_from(H_ASKED), min_size=0, max_size=4)
_bulk = st.tuples(st.sampled_from(BULK), st.one_of(_ids, _ids.map(tuple)), st.sampled_from(H_USERS))
# sums of these land exactly on deadlines (timeouts 1.5 and 3); the negative ones step back
_advance = st.tuples(st.just("advance"), st.sampled_from([0.5, 1.5, 3.0, 1.5, 3.0, -1.5, -6.0]))
_read = st.one_of(
    st.tuples(st.just("cleanup_expired_locks")),
    st.tuples(st.just("seat_status"), st.sampled_from(H_ASKED)),
    st.tuples(st.just("counts")),
    st.tuples(st.just("seat_ids"), st.sampled_from([None, *SeatState])),
)
_STEPS = {"single": _single, "bulk": _bulk, "advance": _advance, "read": _read}
_step = st.sampled_from(["single"] * 3 + ["bulk"] * 2 + ["advance"] * 2 + ["read"]).flatmap(
    _STEPS.__getitem__
)
steps = st.lists(_step, min_size=5, max_size=60)
"""Weighted to the calls and clock moves: they meet at deadlines often enough."""


@settings(max_examples=300, derandomize=True, database=None, deadline=None)
@given(steps, st.sampled_from([3, 3.0, 1.5]), st.sampled_from([1, 3, memory._COMPACT_AT]))
def test_a_random_run_is_the_same_on_both_engines(
    plan: list[tuple[Any, ...]], lock_timeout: float, compact_at: int
) -> None:
    pair = Pair(H_SEATS, lock_timeout=lock_timeout, start=1000.0)
    for event in pair.events():
        event.compact_at = compact_at  # small: compaction runs within a short run
    for step in plan:
        name, *args = step
        if name == "advance":
            pair.advance(args[0])
        else:
            pair.same(name, *args)
    pair.assert_same_state(H_SEATS)


# -- threads -------------------------------------------------------------------------------

THREADS = 8
ROUNDS = 4
STEPS = 300
T_SEATS: list[SeatId] = list(range(48))
T_USERS: list[UserId] = ["ann", "ben", "cat", 1, "1"]
TIMEOUT = 0.05
TICK = 0.01


yield_gil: Callable[[], None] = getattr(os, "sched_yield", lambda: None)
"""Let another thread run (it releases the GIL); not a sleep: it waits for no time."""


class SwitchingClock(FakeClock):
    """A fake clock that lets another thread run whenever it is read: that is in the middle
    of a C operation (between its read of the seats and its writes), where only the event's
    mutex keeps the other threads out."""

    def __call__(self) -> float:
        yield_gil()
        return super().__call__()


def hammer(managers: list[SeatManager], clock: SwitchingClock, history: History, seed: int) -> None:
    """THREADS threads, each on a manager in turn, every call logged in ``history``."""

    def worker(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        manager = managers[index % len(managers)]
        recorder = history.record(manager)
        for _ in range(STEPS):
            user = rng.choice(T_USERS)
            size = rng.choice([1, 1, 2, 3, 33 if rng.random() < 0.05 else 2])
            seats = rng.sample(T_SEATS, size)
            shape: Callable[[list[SeatId]], Sequence[SeatId]] = rng.choice([list, tuple])
            bulk = size > 1 or rng.random() < 0.2
            if bulk:
                held = recorder.lock_seats_bulk(shape(seats), user)
            else:
                held = recorder.lock_seat(seats[0], user)
            if held:
                follow = rng.random()
                if bulk and follow < 0.1:
                    recorder.book_seats_bulk(shape(seats), user)
                elif follow < 0.1:
                    recorder.book_a_seat(seats[0], user)
                elif bulk and follow < 0.5:
                    recorder.cancel_locks_bulk(shape(seats), user)
                elif follow < 0.5:
                    recorder.cancel_lock(seats[0], user)
            noise = rng.random()
            if noise < 0.1:
                recorder.book_a_seat(rng.choice(T_SEATS), rng.choice(T_USERS))
            elif noise < 0.15:
                recorder.cancel_locks_bulk(rng.sample(T_SEATS, 2), rng.choice(T_USERS))
            elif noise < 0.25:
                clock.advance(TICK)
            elif noise < 0.3:
                recorder.cleanup_expired_locks()
            elif noise < 0.35:
                manager.seat_status(rng.choice(T_SEATS))
                manager.counts()

    run_together(THREADS, worker)


@pytest.mark.usefixtures("fine_switching")
def test_threads_hammering_one_c_event_keep_the_contract() -> None:
    succeeded: Counter[Op] = Counter()
    for round_ in range(ROUNDS):
        store = MemoryStore("c")
        clock = SwitchingClock()
        managers = [
            SeatManager(T_SEATS, TIMEOUT, clock=clock, store=store, event="show") for _ in range(2)
        ]
        assert event_of(managers[0]) is event_of(managers[1])  # one event, two views
        history = History(store_clock=clock)
        hammer(managers, clock, history, seed=round_)
        final = final_state(managers[1], T_SEATS)
        verdict = check(history.operations, final, released=history.released)
        assert verdict, verdict.report()

        operations = history.operations
        locks = [o for o in operations if o.ok and o.op in (Op.LOCK, Op.LOCK_BULK)]
        books = [o for o in operations if o.ok and o.op in (Op.BOOK, Op.BOOK_BULK)]
        booked = Counter(seat for o in books for seat in o.seat_ids)
        assert max(booked.values(), default=1) == 1, "a seat was booked twice"
        assert {s for s, st_ in final.items() if st_.state is BOOKED} == set(booked)
        assert all(final[s].holder == o.user_id for o in books for s in o.seat_ids)
        counts = managers[0].counts()
        assert sum(counts.values()) == len(T_SEATS)
        assert counts[BOOKED] == len(booked)
        assert counts[LOCKED] == sum(1 for s in final.values() if s.state is LOCKED)
        # every successful lock took one token, and no two the same
        assert event_of(managers[0]).tokens == len(locks)
        assert len({o.token for o in locks}) == len(locks)
        succeeded.update(o.op for o in operations if o.ok)
    assert set(succeeded) == set(Op), succeeded  # the race did exercise every operation
    assert succeeded[Op.BOOK] + succeeded[Op.BOOK_BULK] >= 20


# -- references ------------------------------------------------------------------------------


def test_the_c_calls_leak_no_references() -> None:
    user = "".join(["leak", "-user"])  # made at run time: not interned, counted
    seat = "".join(["leak", "-seat"])
    seats: list[SeatId] = [seat, 1, 2, 3]
    ids = (seat, 1)
    listed = [seat, 2]
    clock = Clock()

    def run() -> None:
        manager = c_manager(clock, seats)
        calls: list[tuple[str, tuple[object, ...]]] = [
            ("lock_seat", (seat, user)),
            ("lock_seat", (seat, user)),
            ("lock_seat", (seat, "ben")),
            ("book_a_seat", (seat, "ben")),
            ("cancel_lock", (seat, user)),
            ("cancel_lock", (seat, user)),
            ("lock_seats_bulk", (listed, user)),
            ("lock_seats_bulk", (ids, "ben")),
            ("book_seats_bulk", (listed, user)),
            ("cancel_locks_bulk", (ids, user)),
            ("lock_seat", ("nope", user)),
            ("lock_seats_bulk", ([seat, "nope"], user)),
        ]
        for name, args in calls:
            getattr(manager, name)(*args)
        misuse: list[tuple[str, tuple[object, ...]]] = [
            ("lock_seat", (True, user)),
            ("lock_seat", (seat, "")),
            ("lock_seat", (10**300, user)),
            ("lock_seats_bulk", ([seat, seat], user)),
            ("lock_seats_bulk", ([], user)),
            ("lock_seats_bulk", (listed, "")),
            ("lock_seats_bulk", ({seat}, user)),
        ]
        for name, args in misuse:
            with pytest.raises((TypeError, ValueError)):
                getattr(manager, name)(*args)
        clock.error = ClockBrokeError()
        failing: list[tuple[str, tuple[object, ...]]] = [
            ("lock_seat", (3, user)),
            ("book_a_seat", (seat, user)),
            ("lock_seats_bulk", (listed, user)),
            ("cancel_locks_bulk", (ids, user)),
        ]
        for name, args in failing:
            with pytest.raises(ClockBrokeError):
                getattr(manager, name)(*args)
        clock.error = None
        clock.now += 20.0
        manager.cleanup_expired_locks()

    watched: dict[str, object] = {
        "user": user,
        "seat": seat,
        "ids": ids,
        "listed": listed,
        "FREE": AVAILABLE,
        "BOOKED": BOOKED,
        "OK": Reason.OK,
        "HELD_BY_OTHER": Reason.HELD_BY_OTHER,
        "NOT_LOCKED": Reason.NOT_LOCKED,
        "UNKNOWN_SEAT": Reason.UNKNOWN_SEAT,
        "LOCK_BULK": Op.LOCK_BULK,
    }
    for _ in range(50):  # warm up: caches, first-time allocations
        run()
    gc.collect()
    before = {name: sys.getrefcount(value) for name, value in watched.items()}
    for _ in range(2000):
        run()
    gc.collect()
    after = {name: sys.getrefcount(value) for name, value in watched.items()}
    assert after == before


def test_a_clock_that_holds_its_manager_is_collected() -> None:
    class Owner:
        manager: SeatManager

        def clock(self) -> float:
            return 1000.0

    owner = Owner()
    owner.manager = SeatManager([1], 10, clock=owner.clock, store=MemoryStore("c"))
    assert owner.manager.lock_seat(1, "ann")
    gone = weakref.ref(owner)
    del owner  # a cycle through the C Calls object: only the garbage collector frees it
    gc.collect()
    assert gone() is None
