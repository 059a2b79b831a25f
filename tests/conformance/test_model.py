"""A state machine runs random operations on two managers of one event (different lock
timeouts) and checks every result and every seat against a reference model written from
SPEC.md alone."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)

from seatlock import Conflict, Reason, Result, SeatState

from .support import Venue

AVAILABLE, LOCKED, BOOKED = SeatState
Id = int | str

FIRST_SEATS: list[Id] = [1, 2, 3, "a", "b", "x", 6]
POOL: list[Id] = [*FIRST_SEATS, 4, "1", "c"]
"""Seat ids the rules name: the first seats, two that ``add_seats`` may add, a text twin."""
TIMEOUTS = (3, 5)
HOLDER = object()
"""Stands for "the user holding (or last holding) the first seat named"."""

managers = st.integers(0, len(TIMEOUTS) - 1)
seat_ids = st.sampled_from([*FIRST_SEATS, *POOL])
orders = st.permutations(POOL)
sizes = st.integers(1, 3)
focus = st.booleans()
"""For a bulk call: pick seats it can succeed on (if there are any), or any seats."""
users = st.sampled_from([1, "1", "bob", HOLDER, HOLDER])
containers = st.sampled_from([list, tuple])

SETTINGS = settings(
    max_examples=100,
    stateful_step_count=50,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@dataclass
class ModelSeat:
    """A seat as the model stores it; a LOCKED seat's lock may have expired."""

    state: SeatState = AVAILABLE
    holder: Id | None = None
    deadline: float = 0.0
    token: int = 0
    met: bool = False
    """An operation named this seat after its lock expired (it may have cleared it)."""

    def live(self, now: float) -> SeatState:
        return AVAILABLE if self.state is LOCKED and self.deadline <= now else self.state


@dataclass
class Expected:
    message: str
    conflicts: tuple[Conflict, ...]
    seat_ids: tuple[Id, ...]


class Model:
    """SPEC §1-§4 over plain data."""

    def __init__(self) -> None:
        self.seats: dict[Id, ModelSeat] = {}
        self.last_token: int | None = None

    def add(self, seat_ids: Sequence[Id]) -> bool:
        """Add the missing seats; False (and nothing added) if one has a text twin."""
        new = [s for s in seat_ids if s not in self.seats]
        if any(str(s) == str(t) for s in new for t in self.seats):
            return False
        for seat_id in new:
            self.seats[seat_id] = ModelSeat()
        return True

    def conflict(self, seat_id: Id, user: Id, now: float, lock: bool) -> Conflict | None:
        """Why ``user`` may not lock (``lock``), or book or cancel, ``seat_id`` now, if so."""
        seat = self.seats.get(seat_id)
        if seat is None:
            return Conflict(seat_id, Reason.UNKNOWN_SEAT)
        live = seat.live(now)
        if live is BOOKED:
            return Conflict(seat_id, Reason.ALREADY_BOOKED)
        if lock:
            if live is LOCKED:
                mine = seat.holder == user
                return Conflict(
                    seat_id, Reason.HELD_BY_YOU if mine else Reason.HELD_BY_OTHER, seat.holder
                )
            return None
        if live is AVAILABLE:
            return Conflict(seat_id, Reason.NOT_LOCKED)
        if seat.holder != user:
            return Conflict(seat_id, Reason.HELD_BY_OTHER, seat.holder)
        return None

    def meet(self, seat_ids: Sequence[Id], now: float) -> None:
        for seat_id in seat_ids:
            seat = self.seats.get(seat_id)
            if seat is not None and seat.state is LOCKED and seat.deadline <= now:
                seat.met = True


def lock_message(conflict: Conflict, bulk: bool) -> str:
    seat_id, reason, holder = conflict
    if reason is Reason.UNKNOWN_SEAT:
        return f"Seat {seat_id} does not exist"
    if reason is Reason.ALREADY_BOOKED:
        return f"Seat {seat_id} is already booked"
    if bulk:
        return f"Seat {seat_id} is locked by {holder}"
    return f"Seat {seat_id} is currently locked by {holder}"


def release_message(conflict: Conflict, cancel: bool) -> str:
    seat_id, reason, _ = conflict
    if reason is Reason.UNKNOWN_SEAT:
        return f"Seat {seat_id} does not exist"
    if reason is Reason.HELD_BY_OTHER:
        return f"Seat {seat_id} is locked by another user"
    if reason is Reason.ALREADY_BOOKED and cancel:
        return f"Seat {seat_id} is already booked and cannot be cancelled"
    return f"Seat {seat_id} is not locked"


def bulk_rule(name: str, lock: bool, cancel: bool) -> Callable[..., None]:
    """The rule ``name``: one bulk lock, or one bulk book (``cancel``: cancel) of a list
    or tuple of seats chosen by ``EngineMachine.bulk``."""

    def step(
        self: EngineMachine,
        m: int,
        order: list[Id],
        size: int,
        focus: bool,
        user: Any,
        kind: type[Sequence[Id]],
    ) -> None:
        ids, who = self.bulk(order, size, focus, lock, user)
        seats = kind(ids)  # type: ignore[call-arg]
        if lock:
            self._lock(m, seats, who, True, str(seats))
        else:
            self._release(m, seats, who, cancel, str(seats))

    step.__name__, step.__qualname__ = name, f"EngineMachine.{name}"  # Hypothesis shows it
    return rule(m=managers, order=orders, size=sizes, focus=focus, user=users, kind=containers)(
        step
    )


class EngineMachine(RuleBasedStateMachine):
    """Drives the managers and the model side by side."""

    open_venue: Callable[[], Venue]

    def __init__(self) -> None:
        super().__init__()
        self.venue = self.open_venue()
        self.managers = [self.venue.manager(FIRST_SEATS, lock_timeout=t) for t in TIMEOUTS]
        self.model = Model()
        self.model.add(FIRST_SEATS)

    def teardown(self) -> None:
        self.venue.close()

    def user(self, user: Any, seat_ids: Sequence[Id]) -> Id:
        """``user``, or for ``HOLDER`` the (last) holder of the first of ``seat_ids``."""
        if user is not HOLDER:
            return user  # type: ignore[no-any-return]
        seat = self.model.seats.get(seat_ids[0])
        return seat.holder if seat is not None and seat.holder is not None else "bob"

    def bulk(
        self, order: Sequence[Id], size: int, focus: bool, lock: bool, user: Any
    ) -> tuple[list[Id], Id]:
        """Seat ids for a bulk call and its user: with ``focus``, ids it can succeed on."""
        now, seats = self.venue.now(), self.model.seats
        if focus and lock:
            ids = [s for s in order if s in seats and seats[s].live(now) is AVAILABLE][:size]
            if ids:
                return ids, self.user(user, ids)
        if focus and not lock:
            held = [s for s in order if s in seats and seats[s].live(now) is LOCKED]
            if held:
                who = self.user(user, held)
                ids = [s for s in held if seats[s].holder == who][:size]
                return (ids or held[:size]), who
        ids = list(order[:size])
        return ids, self.user(user, ids)

    def check(self, result: Result, expected: Expected) -> None:
        assert str(result) == expected.message
        assert result == expected.message
        assert result.conflicts == expected.conflicts
        assert bool(result) is (not expected.conflicts)
        assert result.reason is (expected.conflicts[0].reason if expected.conflicts else Reason.OK)
        assert result.seat_ids == expected.seat_ids

    # -- operations ------------------------------------------------------------------

    def _lock(self, m: int, ids: Sequence[Id], user: Id, bulk: bool, label: str) -> None:
        manager, model, now = self.managers[m], self.model, self.venue.now()
        conflicts = tuple(c for s in ids if (c := model.conflict(s, user, now, True)) is not None)
        result = manager.lock_seats_bulk(ids, user) if bulk else manager.lock_seat(ids[0], user)
        if conflicts:
            model.meet(ids, now)
            self.check(result, Expected(lock_message(conflicts[0], bulk), conflicts, tuple(ids)))
            assert result.token is None
            return
        message = (
            f"Seats {label} locked by {user}" if bulk else f"Seat {ids[0]} is locked by {user}"
        )
        self.check(result, Expected(message, (), tuple(ids)))
        assert result.deadline == now + TIMEOUTS[m]
        assert type(result.token) is int
        assert model.last_token is None or result.token > model.last_token
        model.last_token = result.token
        for seat_id in ids:
            model.seats[seat_id] = ModelSeat(LOCKED, user, now + TIMEOUTS[m], result.token)

    def _release(self, m: int, ids: Sequence[Id], user: Id, cancel: bool, label: Any) -> None:
        manager, model, now = self.managers[m], self.model, self.venue.now()
        conflicts = tuple(c for s in ids if (c := model.conflict(s, user, now, False)) is not None)
        if label is None:
            result = (manager.cancel_lock if cancel else manager.book_a_seat)(ids[0], user)
        else:
            result = (manager.cancel_locks_bulk if cancel else manager.book_seats_bulk)(ids, user)
        assert result.token is None
        assert result.deadline is None
        if conflicts:
            model.meet(ids, now)
            self.check(
                result, Expected(release_message(conflicts[0], cancel), conflicts, tuple(ids))
            )
            return
        if label is None:
            verb = "lock cancelled by" if cancel else "is now booked by"
            message = f"Seat {ids[0]} {verb} {user}"
        elif cancel:
            message = f"Locks for seats {label} cancelled by {user}"
        else:
            message = f"Seats {label} successfully booked by {user}"
        self.check(result, Expected(message, (), tuple(ids)))
        for seat_id in ids:
            model.seats[seat_id] = ModelSeat() if cancel else ModelSeat(BOOKED, user)

    @rule(m=managers, seat_id=seat_ids, user=users)
    def lock(self, m: int, seat_id: Id, user: Any) -> None:
        self._lock(m, [seat_id], self.user(user, [seat_id]), False, "")

    lock_bulk = bulk_rule("lock_bulk", lock=True, cancel=False)

    @rule(m=managers, seat_id=seat_ids, user=users)
    def book(self, m: int, seat_id: Id, user: Any) -> None:
        self._release(m, [seat_id], self.user(user, [seat_id]), False, None)

    book_bulk = bulk_rule("book_bulk", lock=False, cancel=False)

    @rule(m=managers, seat_id=seat_ids, user=users)
    def cancel(self, m: int, seat_id: Id, user: Any) -> None:
        self._release(m, [seat_id], self.user(user, [seat_id]), True, None)

    cancel_bulk = bulk_rule("cancel_bulk", lock=False, cancel=True)

    @rule(seconds=st.sampled_from([0.25, 0.5, 1, 2, 5]))
    def advance(self, seconds: float) -> None:
        self.venue.advance(seconds)

    @rule(seat_id=seat_ids, early=st.sampled_from([0, 0, 0.25]))
    def advance_to_deadline(self, seat_id: Id, early: float) -> None:
        """Move time to a live lock's deadline (its expiry instant) or just before it."""
        seat, now = self.model.seats.get(seat_id), self.venue.now()
        if seat is not None and seat.live(now) is LOCKED:
            self.venue.advance(seat.deadline - now - early)

    @rule(m=managers)
    def cleanup(self, m: int) -> None:
        now = self.venue.now()
        seats = self.model.seats
        expired = [i for i, s in seats.items() if s.state is LOCKED and s.deadline <= now]
        untouched = sum(not seats[i].met for i in expired)
        released = self.managers[m].cleanup_expired_locks()
        assert type(released) is int
        assert untouched <= released <= len(expired)
        for seat_id in expired:
            seats[seat_id] = ModelSeat()

    @rule(m=managers, ids=st.lists(st.sampled_from([4, "c", "1", 2]), min_size=1, unique=True))
    def add_seats(self, m: int, ids: list[Id]) -> None:
        try:
            self.managers[m].add_seats(ids)
        except ValueError:
            assert not self.model.add(ids)
        else:
            assert self.model.add(ids)

    # -- the read side agrees with the model ------------------------------------------

    @invariant()
    def every_seat_as_modelled(self) -> None:
        """Each seat's state (by ``seat_ids``), and the status of every seat not free."""
        now = self.venue.now()
        first, second = self.managers
        by_state: dict[SeatState, list[Id]] = {state: [] for state in SeatState}
        for seat_id, seat in self.model.seats.items():
            by_state[seat.live(now)].append(seat_id)
        assert second.seat_ids() == list(self.model.seats)
        for state, ids in by_state.items():
            assert second.seat_ids(state) == ids
        assert first.counts() == {state: len(ids) for state, ids in by_state.items()}
        for seat_id in [*by_state[LOCKED], *by_state[BOOKED], *by_state[AVAILABLE][:1]]:
            seat = self.model.seats[seat_id]
            live = seat.live(now)
            status = first.seat_status(seat_id)
            assert (status.seat_id, status.state) == (seat_id, live)
            if live is LOCKED:
                assert (status.holder, status.deadline, status.token) == (
                    seat.holder,
                    seat.deadline,
                    seat.token,
                )
                assert status.time_left == seat.deadline - now
            else:
                assert status.holder == (seat.holder if live is BOOKED else None)
                assert (status.deadline, status.time_left, status.token) == (None, None, None)


def test_engine_matches_the_model(open_venue: Callable[[], Venue]) -> None:
    class Machine(EngineMachine):
        pass

    Machine.open_venue = staticmethod(open_venue)
    run_state_machine_as_test(Machine, settings=SETTINGS)
