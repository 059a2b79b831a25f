"""Hostile input, on every store (SPEC §3, §5): hypothesis throws arbitrary objects, odd
text and huge calls at the public API.

For every call the answer is either a :class:`~seatlock.Result` (when every argument has a
valid type and value: unknown ids are ``UNKNOWN_SEAT`` conflicts, every one reported) or a
``TypeError``/``ValueError`` whose message names the offending value; never any other
exception, never a store error, and the event's full snapshot is unchanged after an
exception and after a failed result. Seats and users whose ids are odd strings (NUL,
lone surrogates, RTL marks, emoji, 10,000 characters) round-trip exactly.

Hypothesis runs inside the test (``open_venue`` opens the venue, an inner ``@given``
function makes the calls), so no function-scoped fixture is reused across examples.
"""

from __future__ import annotations

import enum
import math
import random
import re
import sys
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seatlock import Reason, Result, Seat, SeatManager, SeatState, SeatStatus
from seatlock.results import SeatId, UserId
from seatlock.validation import INT_ID_LIMIT, MAX_ID_LENGTH

from .support import Venue, snapshot

SINGLE = ["lock_seat", "book_a_seat", "cancel_lock"]
BULK = ["lock_seats_bulk", "book_seats_bulk", "cancel_locks_bulk"]
TIMEOUT = 10
AVAILABLE, LOCKED, BOOKED = SeatState


class Row(enum.IntEnum):
    """An ``int`` subclass: a valid id, taken as its plain ``int``."""

    A = 1
    Z = 26


class Text(str):
    """A ``str`` subclass: a valid id, taken as its plain ``str``."""


def _generator(items: list[int]) -> Iterator[int]:
    yield from items


_RNG = random.Random(20240601)
LONG_RANDOM = "".join(chr(_RNG.randrange(0x20, 0xD7FF)) for _ in range(MAX_ID_LENGTH))
"""The longest seat id an event holds, of characters that do not compress (PostgreSQL
compresses index keys)."""
TOO_LONG_RANDOM = "".join(chr(_RNG.randrange(0x20, 0xD7FF)) for _ in range(10_000))

ODD_TEXT: list[str] = [
    "\x00",
    "a\x00",
    "a\x00b",
    "\x00\x00",
    "\ud800",
    "\udfff",
    "x\udc80y",
    "\u202eabc",
    "\u200f\u200e",
    "\ufeff",
    "😀",
    "👩‍👩‍👧‍👦",
    "é",
    "e\u0301",
    "\n\t\r\x1b\x7f",
    " ",
    ":",
    "i:1",
    "s:a",
    "#layout",
    "#clock",
    "L1:2:3",
    "%{}",
    "' OR 1=1 --",
    "$1",
    "x" * MAX_ID_LENGTH,
    LONG_RANDOM,
]
"""Valid ``str`` ids that a store might mangle."""

HUGE_INTS: list[int] = [2**63 - 1, 2**63, 2**64, -(2**63) - 1, 10**100, -(INT_ID_LIMIT - 1)]
"""Valid ``int`` ids beyond 64 bits, up to the longest allowed."""
ODD_IDS: list[SeatId] = [*ODD_TEXT, *HUGE_INTS]

SEATS: list[SeatId] = [1, 2, 3, 0, -5, 2**64, "a", "b", "😀", "\u202eabc", " ", "#clock"]
"""The fuzzed event's seats."""

NOT_IDS: list[Any] = [
    None,
    True,
    False,
    0.0,
    1.0,
    math.nan,
    math.inf,
    -math.inf,
    complex(1, 0),
    Decimal(1),
    Decimal("NaN"),
    Fraction(1, 1),
    b"a",
    b"\x00",
    bytearray(b"a"),
    memoryview(b"a"),
    (1,),
    [1],
    {1},
    frozenset({1}),
    {1: 1},
    range(1),
    Seat(1),
    object(),
    int,
    str,
    Ellipsis,
]
"""Objects that are never a seat or user id."""

ids = st.one_of(
    st.sampled_from(SEATS),
    st.sampled_from(SEATS),
    st.integers(),
    st.sampled_from(HUGE_INTS),
    st.text(max_size=8),
    st.text(st.characters(exclude_categories=()), max_size=6),  # surrogates too
    st.sampled_from(ODD_TEXT),
    st.sampled_from([Row.A, Row.Z, Text("a"), Text("\x00"), Text("")]),
)
"""Valid seat or user ids (and ``""``, a valid seat id but not a valid user id)."""

not_ids = st.one_of(
    st.sampled_from(NOT_IDS),
    st.floats(),
    st.binary(max_size=4),
    st.lists(st.integers(), max_size=2),
    st.tuples(st.text(max_size=2)),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    st.sets(st.integers(), max_size=2),
    st.builds(_generator, st.lists(st.integers(), max_size=2)),
    st.builds(iter, st.lists(st.integers(), max_size=2)),
)
anything = st.one_of(ids, ids, ids, not_ids)
single_seats = st.one_of(st.sampled_from(SEATS), st.sampled_from(SEATS), anything)
COMMON_USERS = st.sampled_from(["ann", "bob", 7, "7"])
valid_users = st.one_of(COMMON_USERS, ids.filter(lambda u: u != ""))
users = st.one_of(COMMON_USERS, COMMON_USERS, st.sampled_from(ODD_TEXT), ids, not_ids)

seat_lists = st.lists(st.sampled_from(SEATS), min_size=1, max_size=6, unique=True)
valid_sequences = st.one_of(
    seat_lists,
    seat_lists.map(tuple),
    seat_lists.map(deque),
    st.lists(st.one_of(st.sampled_from(SEATS), ids), max_size=6, unique=True).map(tuple),
    st.integers(-6, 4).flatmap(lambda a: st.integers(a, a + 5).map(lambda b: range(a, b))),
)
seat_id_args = st.one_of(
    valid_sequences,
    valid_sequences,
    valid_sequences,
    st.lists(anything, max_size=8),
    st.lists(st.sampled_from(SEATS), max_size=6),  # duplicates, empty
    not_ids,
    st.sampled_from(["ab", "", b"12", bytearray(b"1")]),
    st.lists(st.integers(), max_size=3).map(set),
    st.lists(st.sampled_from(SEATS), max_size=3).map(dict.fromkeys),
    st.lists(st.sampled_from(SEATS), max_size=3).map(lambda s: dict.fromkeys(s).keys()),
)

FUZZ = settings(
    max_examples=120,
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
)


# -- the oracle ------------------------------------------------------------------------


def _is_id(value: object) -> bool:
    return isinstance(value, (int, str)) and not isinstance(value, bool)


def _plain(value: Any) -> Any:
    return int(value) if isinstance(value, int) else str.__str__(value)


def _is_sequence(value: object) -> bool:
    return isinstance(value, Sequence) and not isinstance(
        value, (str, bytes, bytearray, memoryview)
    )


Misuse = list[tuple[type[Exception], Any]]
"""What a call may raise: each allowed exception type with the value it must name."""


def _user_misuse(user: object) -> Misuse:
    if not _is_id(user):
        return [(TypeError, user)]
    return [(ValueError, user)] if user == "" else []


def _single_misuse(seat: object, user: object) -> Misuse:
    return ([] if _is_id(seat) else [(TypeError, seat)]) + _user_misuse(user)


def _bulk_misuse(seat_ids: object, user: object) -> Misuse:
    found = _user_misuse(user)
    if not _is_sequence(seat_ids):
        return [*found, (TypeError, seat_ids)]
    items = list(seat_ids)  # type: ignore[call-overload]
    if not items:
        found.append((ValueError, seat_ids))
    found += [(TypeError, item) for item in items if not _is_id(item)]
    seen: set[SeatId] = set()
    for item in (_plain(i) for i in items if _is_id(i)):
        if item in seen:
            found += [(ValueError, item), (ValueError, seat_ids)]
        seen.add(item)
    return found


def _names(error: BaseException, misuse: Misuse) -> bool:
    """True if ``error`` is one of the allowed misuse errors and names its value."""
    text = str(error)
    return any(isinstance(error, kind) and repr(value) in text for kind, value in misuse)


def _expected(
    method: str, seat_ids: list[SeatId], user: UserId, before: dict[SeatId, SeatStatus]
) -> list[tuple[SeatId, Reason, UserId | None]]:
    """The conflicts SPEC §4 says the call meets, in the caller's order (nothing moves the
    clock during the call)."""
    locking = method.startswith("lock")
    found: list[tuple[SeatId, Reason, UserId | None]] = []
    for seat in seat_ids:
        if _known_twin(seat) is None:
            found.append((seat, Reason.UNKNOWN_SEAT, None))
            continue
        status = before[seat]
        mine = status.holder == user and type(status.holder) is type(user)
        if status.state is BOOKED:
            found.append((seat, Reason.ALREADY_BOOKED, None))
        elif status.state is LOCKED:
            if locking:
                reason = Reason.HELD_BY_YOU if mine else Reason.HELD_BY_OTHER
                found.append((seat, reason, status.holder))
            elif not mine:
                found.append((seat, Reason.HELD_BY_OTHER, status.holder))
        elif not locking:
            found.append((seat, Reason.NOT_LOCKED, None))
    return found


def _known_twin(seat: SeatId) -> SeatId | None:
    """The event's seat equal to ``seat`` (``1`` is never ``"1"``; ``True`` is no id)."""
    for known in SEATS:
        if known == seat and type(known) is type(seat):
            return known
    return None


def _check_call(
    venue: Venue, manager: SeatManager, method: str, seat_arg: Any, user: Any, misuse: Misuse
) -> None:
    """Make the call; check its answer against the oracle and the snapshot."""
    before = snapshot(manager, SEATS)
    statuses = dict(zip(SEATS, before[0], strict=True))
    call: Callable[..., Result] = getattr(manager, method)
    if misuse:
        with pytest.raises((TypeError, ValueError)) as info:
            call(seat_arg, user)
        assert _names(info.value, misuse), (
            f"{method}({seat_arg!r:.80}, {user!r:.80}) raised {info.value!r:.300}, "
            f"which names none of {[(k.__name__, v) for k, v in misuse]!r:.300}"
        )
        assert snapshot(manager, SEATS) == before, f"{method} raised but changed the event"
        return
    result = call(seat_arg, user)  # any exception here fails the test
    assert isinstance(result, Result)
    bulk = method in BULK
    named = [_plain(s) for s in seat_arg] if bulk else [_plain(seat_arg)]
    plain_user = _plain(user)
    expected = _expected(method, named, plain_user, statuses)
    assert result.seat_ids == tuple(named)
    assert str(result) == result.message  # the message can always be built
    assert bool(result) is (not expected), (result, expected)
    if expected:
        assert result.reason is expected[0][1], (result, expected)
        assert [(c.seat_id, c.reason) for c in result.conflicts] == [(s, r) for s, r, _ in expected]
        for conflict, (_, reason, holder) in zip(result.conflicts, expected, strict=True):
            if reason in (Reason.HELD_BY_OTHER, Reason.HELD_BY_YOU):
                assert conflict.holder == holder
                assert type(conflict.holder) is type(holder)
        assert snapshot(manager, SEATS) == before, f"a refused {method} changed the event"
        return
    now = venue.now()
    for seat in SEATS:
        status = manager.seat_status(seat)
        if seat not in named:
            assert status == statuses[seat], f"{method} on {named!r} changed seat {seat!r}"
        elif method.startswith("lock"):
            assert (status.state, status.holder, status.deadline) == (
                LOCKED,
                plain_user,
                now + TIMEOUT,
            )
            assert type(status.holder) is type(plain_user)
            assert result.deadline == now + TIMEOUT
        elif method.startswith("book"):
            assert (status.state, status.holder) == (BOOKED, plain_user)
        else:
            assert status.state is AVAILABLE


def _open(open_venue: Callable[[], Venue]) -> tuple[Venue, SeatManager]:
    venue = open_venue()
    manager = venue.manager(SEATS, lock_timeout=TIMEOUT)
    assert manager.lock_seat(1, "ann")
    assert manager.lock_seat("a", 7)
    assert manager.lock_seat(2, "bob")
    assert manager.book_a_seat(2, "bob")
    return venue, manager


def test_fuzzed_single_seat_calls(open_venue: Callable[[], Venue]) -> None:
    venue, manager = _open(open_venue)

    @FUZZ
    @given(st.sampled_from(SINGLE), st.booleans(), st.integers(0, 9), st.data())
    def run(method: str, valid: bool, tick: int, data: st.DataObject) -> None:
        if tick == 0:  # now and then every lock expires, so seats keep changing hands
            venue.advance(TIMEOUT)
        seat = data.draw(st.one_of(st.sampled_from(SEATS), ids) if valid else single_seats)
        user = data.draw(valid_users if valid else users)
        _check_call(venue, manager, method, seat, user, _single_misuse(seat, user))

    run()


def test_fuzzed_bulk_calls(open_venue: Callable[[], Venue]) -> None:
    venue, manager = _open(open_venue)

    @FUZZ
    @given(st.sampled_from(BULK), st.booleans(), st.integers(0, 9), st.data())
    def run(method: str, valid: bool, tick: int, data: st.DataObject) -> None:
        if tick == 0:
            venue.advance(TIMEOUT)
        seat_ids = data.draw(valid_sequences if valid else seat_id_args)
        user = data.draw(valid_users if valid else users)
        _check_call(venue, manager, method, seat_ids, user, _bulk_misuse(seat_ids, user))

    run()


# -- huge calls ------------------------------------------------------------------------

MANY = 5_000
SAMPLE = [0, 1, 2, 1234, 2500, MANY - 1]


def _cheap_snapshot(manager: SeatManager) -> tuple[object, ...]:
    """The read side of a 5,000-seat event without 5,000 round trips: the seats by state
    and counts, and every detail of a sample of seats."""
    return snapshot(manager, SAMPLE)


def test_thousands_of_seats_in_one_bulk_call(venue: Venue) -> None:
    seats = list(range(MANY))
    manager = venue.manager(seats, lock_timeout=TIMEOUT)
    assert manager.lock_seat(1234, "ann")
    assert manager.lock_seat(2500, "ann")
    assert manager.book_a_seat(2500, "ann")
    before = _cheap_snapshot(manager)

    # misuse hidden at the far end of a huge call: raises, changes nothing
    for method in BULK:
        for bad, error, named in [
            ([*seats, 1.5], TypeError, 1.5),
            ([*seats, None], TypeError, None),
            ([*seats, 4999], ValueError, 4999),
            ([*seats[1:], "x", 4000], ValueError, 4000),
            (iter(seats), TypeError, None),
        ]:
            with pytest.raises(error) as info:
                getattr(manager, method)(bad, "bob")
            if named is not None:
                assert repr(named) in str(info.value)
            assert _cheap_snapshot(manager) == before

    # unknown ones among thousands: every one reported, in the caller's order
    unknown = [f"u{i}" for i in range(MANY // 2)] + list(range(MANY, MANY + MANY // 2))
    mixed = tuple(x for pair in zip(seats[: MANY // 2], unknown, strict=False) for x in pair)
    for method in BULK:
        result = getattr(manager, method)(mixed, "bob")
        assert not result
        reported = [c.seat_id for c in result.conflicts if c.reason is Reason.UNKNOWN_SEAT]
        assert reported == [s for s in mixed if s in set(unknown)], method
        assert _cheap_snapshot(manager) == before

    # a conflict deep inside: all or nothing, every conflicting seat reported
    result = manager.lock_seats_bulk(seats, "bob")
    assert [(c.seat_id, c.reason) for c in result.conflicts] == [
        (1234, Reason.HELD_BY_OTHER),
        (2500, Reason.ALREADY_BOOKED),
    ]
    assert _cheap_snapshot(manager) == before

    free = [s for s in reversed(seats) if s not in (1234, 2500)]
    locked = manager.lock_seats_bulk(free, "bob")
    assert locked, locked.conflicts[:3]
    assert manager.counts() == {AVAILABLE: 0, LOCKED: MANY - 1, BOOKED: 1}
    assert manager.book_seats_bulk([*free, 1234], "bob").conflicts == (
        (1234, Reason.HELD_BY_OTHER, "ann"),
    )
    assert manager.book_seats_bulk(tuple(free), "bob")
    assert manager.counts() == {AVAILABLE: 0, LOCKED: 1, BOOKED: MANY - 1}
    assert manager.seat_ids(BOOKED) == [s for s in seats if s != 1234]
    assert manager.cancel_locks_bulk(free[:10], "bob").reason is Reason.ALREADY_BOOKED


def test_empty_and_duplicate_bulk_calls(venue: Venue) -> None:
    manager = venue.manager(SEATS)
    assert manager.lock_seat(1, "ann")
    before = snapshot(manager, SEATS)
    for method in BULK:
        for bad, named in [
            ([], "[]"),
            ((), "()"),
            (range(0), "range(0, 0)"),
            (deque(), "deque([])"),
            ([1, 1], "1"),
            (["a", Text("a")], "'a'"),
            ([Row.A, 1], "1"),
            ([*SEATS, *SEATS], "1"),
            (["\x00", "\x00"], "'\\x00'"),
            (["\ud800", "\ud800"], "'\\ud800'"),
        ]:
            with pytest.raises(ValueError, match=re.escape(named)):
                getattr(manager, method)(bad, "ann")
            assert snapshot(manager, SEATS) == before


# -- odd ids round-trip ------------------------------------------------------------------


def _short(value: object) -> str:
    return ascii(value)[:24]


@pytest.mark.parametrize("odd", ODD_IDS, ids=_short)
def test_odd_seat_ids_round_trip(venue: Venue, odd: SeatId) -> None:
    """A seat whose id is ``odd`` is added, locked, booked and read back exactly."""
    manager = venue.manager(["plain", odd], lock_timeout=TIMEOUT)
    assert manager.seat_ids() == ["plain", odd]
    assert [type(s) for s in manager.seat_ids()] == [str, type(odd)]
    assert manager.seat_status(odd) == SeatStatus(odd, AVAILABLE)

    locked = manager.lock_seat(odd, "ann")
    assert locked, locked
    assert str(locked) == f"Seat {odd} is locked by ann"
    status = manager.seat_status(odd)
    assert (status.seat_id, status.state, status.holder) == (odd, LOCKED, "ann")
    assert status.deadline == locked.deadline == venue.now() + TIMEOUT
    assert manager.lock_seat(odd, "bob").conflicts == ((odd, Reason.HELD_BY_OTHER, "ann"),)
    assert manager.seat_ids(LOCKED) == [odd]
    assert manager.cancel_locks_bulk([odd], "ann")
    assert manager.lock_seats_bulk((odd, "plain"), "ann")
    assert manager.book_a_seat(odd, "ann")
    assert manager.seat_status(odd) == SeatStatus(odd, BOOKED, "ann")
    other = venue.manager([])  # another manager of the event reads the same
    assert other.seat_ids(BOOKED) == [odd]
    assert other.seat_status(odd) == SeatStatus(odd, BOOKED, "ann")
    assert other.counts() == {AVAILABLE: 0, LOCKED: 1, BOOKED: 1}


@pytest.mark.parametrize("odd", ODD_IDS, ids=_short)
def test_odd_user_ids_round_trip(venue: Venue, odd: UserId) -> None:
    """A user whose id is ``odd`` locks, holds, books and is read back exactly."""
    manager = venue.manager([1, 2], lock_timeout=TIMEOUT)
    locked = manager.lock_seat(1, odd)
    assert locked, locked
    assert str(locked) == f"Seat 1 is locked by {odd}"
    assert manager.seat_status(1).holder == odd
    assert type(manager.seat_status(1).holder) is type(odd)
    assert manager.lock_seat(1, "bob").conflicts == ((1, Reason.HELD_BY_OTHER, odd),)
    assert manager.lock_seat(1, odd).reason is Reason.HELD_BY_YOU
    assert manager.book_a_seat(1, "bob").conflicts == ((1, Reason.HELD_BY_OTHER, odd),)
    assert manager.lock_seats_bulk([2], odd)
    assert manager.cancel_locks_bulk([2], odd)
    assert manager.book_a_seat(1, odd)
    other = venue.manager([])
    assert other.seat_status(1) == SeatStatus(1, BOOKED, odd)
    assert other.book_a_seat(1, odd).reason is Reason.ALREADY_BOOKED


def test_ids_that_differ_after_a_nul_are_different_seats(venue: Venue) -> None:
    """No store truncates an id at NUL: each of these is its own seat."""
    seats: list[SeatId] = ["a", "a\x00", "a\x00b", "a\x00c", "", "\x00"]
    manager = venue.manager(seats)
    assert manager.seat_ids() == seats
    assert manager.lock_seat("a\x00b", "ann")
    assert manager.seat_ids(LOCKED) == ["a\x00b"]
    for seat in seats:
        assert manager.seat_status(seat).state is (LOCKED if seat == "a\x00b" else AVAILABLE)
    assert manager.lock_seat("a\x00x", "bob").reason is Reason.UNKNOWN_SEAT
    assert manager.lock_seats_bulk(["a\x00", "a"], "bob")
    assert manager.counts() == {AVAILABLE: 3, LOCKED: 3, BOOKED: 0}


def test_lone_surrogates_are_ids_of_their_own(venue: Venue) -> None:
    """Lone surrogates are kept as they are, never folded nor replaced."""
    seats: list[SeatId] = ["\ud800", "\udc00", "\ud800\udc00", "\U00010000", "\ufffd"]
    manager = venue.manager(seats)
    assert manager.seat_ids() == seats
    assert manager.lock_seat("\ud800\udc00", "\udc00")
    assert manager.seat_ids(LOCKED) == ["\ud800\udc00"]
    assert manager.seat_status("\ud800\udc00").holder == "\udc00"
    assert manager.lock_seat("\U00010000", "bob")
    assert manager.lock_seat("\ud800", "bob")
    assert manager.counts() == {AVAILABLE: 2, LOCKED: 3, BOOKED: 0}


@pytest.mark.parametrize(
    "too_long", ["x" * (MAX_ID_LENGTH + 1), TOO_LONG_RANDOM, INT_ID_LIMIT, -(10**4000)], ids=_short
)
def test_seat_ids_longer_than_the_limit_are_refused(venue: Venue, too_long: SeatId) -> None:
    """An event holds seat ids of at most ``MAX_ID_LENGTH`` characters; a longer one is a
    ``ValueError`` that adds nothing; a long ``str`` is merely unknown to lookups, a long
    ``int`` is refused by every call."""
    manager = venue.manager(["plain"])
    with pytest.raises(ValueError, match=r"at most|digits"):
        manager.add_seats(["other", too_long])
    with pytest.raises(ValueError, match=r"at most|digits"):
        venue.manager([too_long])
    assert manager.seat_ids() == ["plain"]
    if isinstance(too_long, str):
        assert manager.lock_seat(too_long, "ann").reason is Reason.UNKNOWN_SEAT
        assert manager.lock_seats_bulk(["plain", too_long], "ann").conflicts == (
            (too_long, Reason.UNKNOWN_SEAT, None),
        )
    else:
        for call in (manager.lock_seat, manager.book_a_seat, manager.cancel_lock):
            with pytest.raises(ValueError, match="digits"):
                call(too_long, "ann")
            with pytest.raises(ValueError, match="digits"):
                call("plain", too_long)
        with pytest.raises(ValueError, match="digits"):
            manager.lock_seats_bulk(["plain", too_long], "ann")
    assert manager.seat_status("plain").state is AVAILABLE


def test_an_int_too_long_to_print(venue: Venue) -> None:
    """An ``int`` with more digits than ``str()`` may print (``sys.get_int_max_str_digits``)
    cannot be in any message: every call with one is refused with a ``ValueError`` that
    says so, before anything changes, in every store alike (or answers with a result whose
    message can be built)."""
    limit = sys.get_int_max_str_digits()
    if limit == 0:
        pytest.skip("this interpreter prints ints of any length")
    huge = 10 ** (limit + 10)
    manager = venue.manager(SEATS)
    assert manager.lock_seat(1, "ann")
    before = snapshot(manager, SEATS)
    calls: list[tuple[str, Any, Any]] = [
        *((m, huge, "bob") for m in SINGLE),
        *((m, 3, huge) for m in SINGLE),
        *((m, 1, huge) for m in SINGLE),
        *((m, [3, huge], "bob") for m in BULK),
        *((m, [3], huge) for m in BULK),
    ]
    problems: list[str] = []
    for number, (method, seat_arg, user) in enumerate(calls):
        where = f"call {number} ({method}, huge {'user' if user is huge else 'seat'})"
        changed = "raised"
        try:
            result = getattr(manager, method)(seat_arg, user)
        except ValueError as exc:
            if "digits" not in str(exc):
                problems.append(f"{where} raised {exc!r}, which does not say why")
        else:
            changed = "succeeded" if result.ok else "was refused"
            try:
                str(result)
            except ValueError:
                problems.append(f"{where} returned a result whose message cannot be built")
        if snapshot(manager, SEATS) != before:
            if changed != "succeeded":
                problems.append(f"{where} {changed} but changed the event")
            before = snapshot(manager, SEATS)
    assert not problems, "\n".join(problems)
    with pytest.raises(ValueError, match="digits"):
        venue.manager([huge])
    assert manager.seat_ids() == SEATS
