"""SPEC §4: a successful lock carries its deadline (lock time + timeout) and a hold token
larger than every earlier lock's in the event; a bulk lock has one token for all seats."""

from __future__ import annotations

from seatlock import Result, SeatState

from .support import Venue


def test_tokens_strictly_increase_across_the_event(venue: Venue) -> None:
    first = venue.manager([1, 2, 3, 4, "e"], lock_timeout=5)
    second = venue.manager([1, 2, 3, 4, "e"], lock_timeout=2)
    results: list[Result] = []

    def locked(result: Result) -> None:
        assert result.ok, result
        results.append(result)

    locked(first.lock_seat(1, "alice"))
    assert not second.lock_seat(1, "bob")  # a failed lock takes no token
    locked(second.lock_seats_bulk([2, 3], "bob"))
    locked(first.lock_seat("e", "alice"))
    assert first.cancel_lock("e", "alice")
    locked(second.lock_seat("e", "alice"))  # relocked after a cancel
    venue.advance(2)
    locked(first.lock_seats_bulk([3, 2, 4], "carol"))  # taken over after expiry
    venue.advance(3)
    locked(first.lock_seat(1, "alice"))  # relocked by its holder after expiry
    locked(second.lock_seats_bulk(["e"], "dave"))

    tokens = [r.token for r in results if type(r.token) is int]
    assert len(tokens) == len(results)
    assert tokens == sorted(tokens)
    assert len(set(tokens)) == len(tokens)
    for result in results[-3:]:
        for seat in result.seat_ids:
            assert first.seat_status(seat).token == result.token
            assert second.seat_status(seat).token == result.token


def test_deadline_is_lock_time_plus_timeout(venue: Venue) -> None:
    long = venue.manager([1, 2, 3], lock_timeout=7.5)
    short = venue.manager([1, 2, 3], lock_timeout=1)
    venue.advance(0.25)
    at = venue.now()
    single = long.lock_seat(1, "u")
    bulk = short.lock_seats_bulk([2, 3], "v")
    assert single.deadline == at + 7.5
    assert bulk.deadline == at + 1
    assert long.seat_status(2).deadline == bulk.deadline
    assert long.seat_status(2).time_left == 1
    venue.advance(1)
    assert long.seat_ids(SeatState.LOCKED) == [1]
    assert long.seat_status(1).time_left == 6.5
    again = long.lock_seat(2, "v")
    assert again.deadline == at + 1 + 7.5
    assert again.token > bulk.token > single.token  # type: ignore[operator]
