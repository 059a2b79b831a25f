"""Code written for seatlock 0.2.0 keeps working: its README example prints the same
lines, and every 0.2.0 method is there with the same positional parameters."""

from __future__ import annotations

import contextlib
import inspect
import io

import pytest

import seatlock

# The "Code Example" of the 0.2.0 README, verbatim (the block is fenced as bash there).
README_EXAMPLE = """
#Base Case

from seatlock import SeatManager, Seat

# Create seats
seats = [Seat(i) for i in range(1, 6)]

# Initialize manager with custom timeout (in seconds)
manager = SeatManager(seats, lock_timeout=60)

# Lock a seat
print(manager.lock_seat(1, "user1"))

# Book the seat
print(manager.book_a_seat(1, "user1"))

#Bulk Use Case

from seatlock import SeatManager, Seat

seats = [Seat(i) for i in range(1, 6)]
manager = SeatManager(seats, lock_timeout=120)

# Lock multiple seats
print(manager.lock_seats_bulk([2, 3], "user2"))

# Book them
print(manager.book_seats_bulk([2, 3], "user2"))


#Handling Conflicts

# Another user tries to book without lock
print(manager.book_a_seat(4, "user3"))
# → Seat 4 is not locked

# Lock by one user
manager.lock_seat(4, "user1")

# Another user tries to lock same seat
print(manager.lock_seat(4, "user2"))
# → Seat 4 is currently locked by user1

"""

# Captured by running README_EXAMPLE under the published seatlock 0.2.0 (its wheel
# unpacked to a folder): PYTHONPATH=<that folder> python3 readme_example.py
OUTPUT_020 = [
    "Seat 1 is locked by user1",
    "Seat 1 is now booked by user1",
    "Seats [2, 3] locked by user2",
    "Seats [2, 3] successfully booked by user2",
    "Seat 4 is not locked",
    "Seat 4 is currently locked by user1",
]


def test_readme_example_prints_what_020_printed() -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(README_EXAMPLE, "seatlock-0.2.0-README", "exec"), {"__name__": "example"})
    assert out.getvalue().splitlines() == OUTPUT_020


# Every public 0.2.0 method, with its positional parameters in 0.2.0.
API_020: dict[str, list[str]] = {
    "SeatManager.__init__": ["self", "seats", "lock_timeout"],
    "SeatManager.cleanup_expired_locks": ["self"],
    "SeatManager.lock_seat": ["self", "seat_id", "user_id"],
    "SeatManager.lock_seats_bulk": ["self", "seat_ids", "user_id"],
    "SeatManager.book_a_seat": ["self", "seat_id", "user_id"],
    "SeatManager.book_seats_bulk": ["self", "seat_ids", "user_id"],
    "SeatManager.cancel_lock": ["self", "seat_id", "user_id"],
    "SeatManager.cancel_locks_bulk": ["self", "seat_ids", "user_id"],
    "Seat.__init__": ["self", "seat_id"],
    "Seat.is_locked": ["self"],
    "Seat.is_available": ["self"],
    "Seat.is_booked": ["self"],
}


@pytest.mark.parametrize(("name", "positional"), API_020.items())
def test_020_method_keeps_its_positional_parameters(name: str, positional: list[str]) -> None:
    class_name, method_name = name.split(".")
    method = getattr(getattr(seatlock, class_name), method_name)
    parameters = inspect.signature(method).parameters.values()
    names = [
        p.name
        for p in parameters
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    assert names == positional
    required = [p.name for p in parameters if p.default is p.empty and p.kind is not p.VAR_KEYWORD]
    assert required == [n for n in positional if n != "lock_timeout"]


def test_020_imports_and_defaults() -> None:
    from seatlock import Seat, SeatManager

    seat = Seat(3)
    assert seat.seat_id == 3
    assert seat.status == "AVAILABLE"  # 0.2.0's state strings
    assert (seat.is_available(), seat.is_locked(), seat.is_booked()) == (True, False, False)
    default = inspect.signature(SeatManager).parameters["lock_timeout"].default
    assert default == 10  # SPEC §2 and the 0.2.0 README (0.2.0's code said 30)
    manager = SeatManager([seat, Seat("b")], 5)
    assert manager.lock_timeout == 5
    assert manager.lock_seat(3, "u")
    assert seat.is_locked()


def test_results_keep_the_string_habits_of_020_code() -> None:
    manager = seatlock.SeatManager(range(3))
    locked = manager.lock_seat(1, "ann")
    refused = manager.lock_seat(1, "bob")
    text = "Seat 1 is currently locked by ann"
    assert "currently locked" in refused
    assert refused.startswith("Seat 1")
    assert refused.endswith("by ann")
    assert refused.split() == text.split()
    assert refused + "." == text + "."
    assert "> " + refused == "> " + text
    assert len(refused) == len(text)
    assert f"{locked}" == "Seat 1 is locked by ann"
    assert hash(refused) == hash(text)  # so it finds and is found by its message in dicts
    with pytest.raises(AttributeError, match="no attribute 'not_a_str_method'"):
        _ = refused.not_a_str_method
