"""Clients that misbehave in time (SPEC §2, §6, §7).

(a) Slow clients: a client locks, then "thinks" past its deadline (the store's time moves
on, ``venue.advance``) while another user locks and books the seat. The slow client's
book and cancel must fail and the seat is sold exactly once; single, bulk, and many slow
clients at once (threads), the whole history checked by ``seatlock.testing.check``.

(b) Clock jumps on the caller's host: a server store takes time from its server, so
stepping this process's ``time.time``/``time.monotonic`` (and their ``_ns`` forms) far
forward or back between operations neither expires a lock early nor keeps it longer.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from seatlock import Op, Reason, SeatManager, SeatState, SeatStatus
from seatlock.stores import open_store
from seatlock.testing import History, RecordingManager, check, final_state

from .conftest import SERVER_TIME
from .support import Venue, snapshot

AVAILABLE, LOCKED, BOOKED = SeatState
TIMEOUT = 5


# -- (a) slow clients ------------------------------------------------------------------


def test_a_slow_client_loses_its_expired_lock(venue: Venue) -> None:
    slow = venue.manager([1, 2], lock_timeout=TIMEOUT)
    fast = venue.manager([], lock_timeout=TIMEOUT)  # another client of the event
    held = slow.lock_seat(1, "slow")
    assert held

    venue.advance(TIMEOUT - 0.5)  # still thinking: the lock is live
    assert slow.seat_status(1).holder == "slow"
    assert fast.lock_seat(1, "fast").reason is Reason.HELD_BY_OTHER
    venue.advance(0.5)  # the deadline: from this instant it is no lock
    assert fast.seat_status(1) == SeatStatus(1, AVAILABLE)

    # nobody took it yet: the slow client's book and cancel find no lock
    before = snapshot(fast, [1, 2])
    for result in (slow.book_a_seat(1, "slow"), slow.cancel_lock(1, "slow")):
        assert result.reason is Reason.NOT_LOCKED
        assert result == "Seat 1 is not locked"
    assert snapshot(fast, [1, 2]) == before

    # another user locks it: the slow client meets their live lock
    taken = fast.lock_seat(1, "fast")
    assert taken
    assert taken.token is not None
    assert held.token is not None
    assert taken.token > held.token
    assert slow.book_a_seat(1, "slow") == "Seat 1 is locked by another user"
    assert slow.cancel_lock(1, "slow").reason is Reason.HELD_BY_OTHER
    assert slow.lock_seat(1, "slow") == "Seat 1 is currently locked by fast"

    # the other user books it: the slow client's book and cancel still fail
    assert fast.book_a_seat(1, "fast")
    before = snapshot(fast, [1, 2])
    late_book = slow.book_a_seat(1, "slow")
    assert not late_book
    assert late_book == "Seat 1 is not locked"  # SPEC §4: book on a booked seat
    assert late_book.reason is Reason.ALREADY_BOOKED
    late_cancel = slow.cancel_lock(1, "slow")
    assert late_cancel == "Seat 1 is already booked and cannot be cancelled"
    assert snapshot(fast, [1, 2]) == before

    # sold exactly once, to the other user, whatever time does next
    venue.advance(1000)
    assert not slow.book_a_seat(1, "slow")
    assert slow.seat_status(1) == SeatStatus(1, BOOKED, "fast")
    assert slow.seat_ids(BOOKED) == [1]
    assert slow.counts() == {AVAILABLE: 1, LOCKED: 0, BOOKED: 1}
    assert slow.cleanup_expired_locks() == 0  # the expired lock was taken over, not left


def test_a_slow_bulk_client_loses_every_expired_lock(venue: Venue) -> None:
    seats = [1, 2, 3, 4]
    slow = venue.manager(seats, lock_timeout=TIMEOUT)
    fast = venue.manager([], lock_timeout=TIMEOUT)
    assert slow.lock_seats_bulk([1, 2, 3], "slow")
    venue.advance(TIMEOUT)

    assert fast.lock_seats_bulk([2], "fast")
    assert fast.book_seats_bulk([2], "fast")
    assert fast.lock_seats_bulk([3], "other")
    before = snapshot(fast, seats)

    book = slow.book_seats_bulk([1, 2, 3], "slow")
    assert book.conflicts == (
        (1, Reason.NOT_LOCKED, None),
        (2, Reason.ALREADY_BOOKED, None),
        (3, Reason.HELD_BY_OTHER, "other"),
    )
    assert book == "Seat 1 is not locked"
    cancel = slow.cancel_locks_bulk((3, 2, 1), "slow")
    assert [c.reason for c in cancel.conflicts] == [
        Reason.HELD_BY_OTHER,
        Reason.ALREADY_BOOKED,
        Reason.NOT_LOCKED,
    ]
    assert cancel == "Seat 3 is locked by another user"
    assert not slow.book_seats_bulk([1], "slow")  # even the seat nobody took
    assert not slow.cancel_locks_bulk([1], "slow")
    assert snapshot(fast, seats) == before

    assert slow.seat_ids(BOOKED) == [2]
    assert slow.seat_status(2).holder == "fast"
    assert slow.seat_status(3).holder == "other"
    assert slow.seat_ids(AVAILABLE) == [1, 4]
    assert slow.cleanup_expired_locks() == 1  # seat 1's lock, expired and never taken over


SLOW_CLIENTS = 6
FAST_CLIENTS = 3
GROUP = 4
CROWD_SEATS = list(range(SLOW_CLIENTS * GROUP))


def _slow_client(
    manager: RecordingManager, index: int, barrier: threading.Barrier, rng: random.Random
) -> None:
    user = f"slow{index}"
    group = CROWD_SEATS[index * GROUP : (index + 1) * GROUP]
    assert manager.lock_seats_bulk(group, user)
    barrier.wait()  # all hold their locks
    barrier.wait()  # the store's time has passed every deadline: now they act
    for _ in range(10):
        seats = rng.sample(group, rng.randint(1, GROUP))
        for result in (
            manager.book_seats_bulk(seats, user),
            manager.book_a_seat(seats[0], user),
            manager.cancel_locks_bulk(seats, user),
            manager.cancel_lock(seats[-1], user),
        ):
            assert not result, f"{user}, past its deadline, got {result!r}"
            assert result.reason in (
                Reason.NOT_LOCKED,
                Reason.HELD_BY_OTHER,
                Reason.ALREADY_BOOKED,
            ), result


def _fast_client(
    manager: RecordingManager, index: int, barrier: threading.Barrier, rng: random.Random
) -> None:
    user = f"fast{index}"
    barrier.wait()
    barrier.wait()
    order = list(CROWD_SEATS)
    rng.shuffle(order)
    while order:
        size = rng.choice([1, 1, 2])
        seats, order = order[:size], order[size:]
        if len(seats) == 1 and rng.random() < 0.5:
            if manager.lock_seat(seats[0], user):
                assert manager.book_a_seat(seats[0], user)
        elif manager.lock_seats_bulk(seats, user):
            assert manager.book_seats_bulk(seats, user)
    for seat in CROWD_SEATS:  # a last sweep, so no seat is left unsold
        if manager.lock_seat(seat, user):
            assert manager.book_a_seat(seat, user)


@pytest.mark.usefixtures("fine_switching")
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_many_slow_clients_at_once(venue: Venue, seed: int) -> None:
    managers = [venue.manager(CROWD_SEATS, lock_timeout=TIMEOUT) for _ in range(3)]
    history = History(store_clock=venue.now)
    barrier = threading.Barrier(SLOW_CLIENTS + FAST_CLIENTS + 1)
    errors: list[BaseException] = []

    def run(client: Callable[..., None], index: int) -> None:
        recording = history.record(managers[index % len(managers)])
        try:
            client(recording, index, barrier, random.Random(seed * 100 + index))
        except BaseException as exc:  # reported below
            errors.append(exc)
            barrier.abort()

    threads = [
        *(threading.Thread(target=run, args=(_slow_client, i)) for i in range(SLOW_CLIENTS)),
        *(threading.Thread(target=run, args=(_fast_client, i)) for i in range(FAST_CLIENTS)),
    ]
    for thread in threads:
        thread.start()
    try:
        barrier.wait()
        venue.advance(TIMEOUT)  # every slow client's deadline passes while it thinks
        barrier.wait()
    except threading.BrokenBarrierError:
        pass
    for thread in threads:
        thread.join()
    assert not errors, errors

    final = final_state(managers[0], CROWD_SEATS)
    verdict = check(history.operations, final, released=history.released)
    assert verdict, verdict.report()

    # every seat sold exactly once, to a fast client that held it live
    books = Counter(
        seat
        for op in history.operations
        if op.ok and op.op in (Op.BOOK, Op.BOOK_BULK)
        for seat in op.seat_ids
    )
    assert books == Counter(CROWD_SEATS)
    for seat, status in final.items():
        assert status.state is BOOKED
        assert str(status.holder).startswith("fast"), (seat, status)
    slow_wins = [op for op in history.operations if op.ok and str(op.user_id).startswith("slow")]
    assert [op.op for op in slow_wins] == [Op.LOCK_BULK] * SLOW_CLIENTS
    assert managers[0].counts() == {AVAILABLE: 0, LOCKED: 0, BOOKED: len(CROWD_SEATS)}


# -- (b) the caller's clock jumps ------------------------------------------------------

JUMP_TIMEOUT = 60
"""Long enough that no lock of this test expires in real time while it runs."""
SLACK = 5.0
"""How far a deadline may be from this host's real clock + timeout (same host as the
server; the call itself takes far less)."""


class HostClock:
    """This process's clocks, stepped by :meth:`jump` (``time`` module functions only)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.offset = 0.0
        self.real_time = time.time
        real_monotonic, real_time_ns, real_monotonic_ns = (
            time.monotonic,
            time.time_ns,
            time.monotonic_ns,
        )
        monkeypatch.setattr(time, "time", lambda: self.real_time() + self.offset)
        monkeypatch.setattr(time, "monotonic", lambda: real_monotonic() + self.offset)
        monkeypatch.setattr(time, "time_ns", lambda: real_time_ns() + int(self.offset * 1e9))
        monkeypatch.setattr(
            time, "monotonic_ns", lambda: real_monotonic_ns() + int(self.offset * 1e9)
        )

    def jump(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def server_store(venue: Venue) -> Iterator[Any]:
    """A store on the venue's server and event, on the server's real clock (not frozen)."""
    assert venue.url is not None
    store = open_store(venue.url)
    assert store.server_time
    yield store
    store.close()


JUMPS = [1e6, -1e6, 365 * 86_400.0, -2 * 365 * 86_400.0, JUMP_TIMEOUT * 10, -3600.0, 0.5]


# Memory and SQLite take time from the caller's clock by design (SPEC §7: clock= serves
# them; SQLite deadlines come from the host's wall clock), so this runs on server stores.
@pytest.mark.parametrize("open_venue", SERVER_TIME, indirect=True)
def test_host_clock_jumps_do_not_move_server_deadlines(
    venue: Venue, server_store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    seats = list(range(len(JUMPS) + 2))
    manager = SeatManager(seats, JUMP_TIMEOUT, store=server_store, event=venue.event)
    try:
        host = HostClock(monkeypatch)
        held = manager.lock_seat(0, "ann")
        assert held
        assert held.deadline is not None
        assert abs(held.deadline - JUMP_TIMEOUT - host.real_time()) < SLACK
        later: list[tuple[int, float]] = []
        for n, jump in enumerate(JUMPS, start=1):
            host.jump(jump)
            assert abs(time.time() - host.real_time() - host.offset) < 1  # the jump took
            status = manager.seat_status(0)
            assert (status.state, status.holder, status.deadline) == (LOCKED, "ann", held.deadline)
            assert status.time_left is not None
            assert 0 < status.time_left <= JUMP_TIMEOUT, f"after a jump of {jump}: {status}"
            assert manager.lock_seat(0, "bob").reason is Reason.HELD_BY_OTHER
            assert manager.book_a_seat(0, "bob").reason is Reason.HELD_BY_OTHER
            assert manager.cleanup_expired_locks() == 0
            assert manager.seat_ids(LOCKED)[0] == 0
            fresh = manager.lock_seat(n, "bob")  # a new lock's deadline is server time too
            assert fresh
            assert fresh.deadline is not None
            assert abs(fresh.deadline - JUMP_TIMEOUT - host.real_time()) < SLACK, jump
            later.append((n, fresh.deadline))
        assert manager.book_a_seat(0, "ann")
        assert manager.seat_status(0) == SeatStatus(0, BOOKED, "ann")

        # nor do locks live longer: once the server's time passes their deadlines they
        # are gone, though this host's clock is now far behind
        host.jump(-1e7)
        server_store.time_offset = JUMP_TIMEOUT + 3 * SLACK
        for n, _ in later:
            assert manager.seat_status(n) == SeatStatus(n, AVAILABLE)
            assert manager.book_a_seat(n, "bob").reason is Reason.NOT_LOCKED
        assert manager.lock_seat(1, "cat")
        assert manager.cleanup_expired_locks() == len(later) - 1
        assert manager.counts() == {AVAILABLE: len(seats) - 2, LOCKED: 1, BOOKED: 1}
    finally:
        manager.close()
