"""SQLite-only behaviour: URLs, files shared by processes, durability, faults."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from seatlock import NotPerformedError, SeatlockError, SeatManager, SeatState
from seatlock.stores.sqlite import SQLiteStore

from .processes import kill_mid_bulk


def url_of(path: Path) -> str:
    return f"sqlite:///{path}"


@pytest.mark.parametrize(
    ("url", "expected"),
    [("sqlite:///seats.db", "seats.db"), ("sqlite:///sub/x.db", "sub/x.db")],
)
def test_relative_url_is_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, expected: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    store = SQLiteStore.from_url(url)
    store.close()
    assert store.path == tmp_path / expected
    assert (tmp_path / expected).exists()


def test_absolute_url_has_four_slashes(tmp_path: Path) -> None:
    store = SQLiteStore.from_url(f"sqlite:///{tmp_path}/abs.db")
    store.close()
    assert store.path == tmp_path / "abs.db"


@pytest.mark.parametrize(
    "url",
    [
        "sqlite://",
        "sqlite:///",
        "sqlite://host/x.db",
        "sqlite:///x.db?bogus=1",
        "sqlite:///x.db?timeout=soon",
        "sqlite:///x.db?synchronous=off",
    ],
)
def test_bad_urls_name_the_problem(url: str) -> None:
    with pytest.raises(ValueError, match=r"SQLite|option|timeout|synchronous"):
        SQLiteStore.from_url(url)


def test_state_survives_reopening_the_file(tmp_path: Path) -> None:
    url = url_of(tmp_path / "s.db")
    with SeatManager(range(3), store=url, event="show") as first:
        assert first.lock_seats_bulk([0, 1], "ann")
        assert first.book_seats_bulk([0, 1], "ann")
        assert first.lock_seat(2, "bob")
    with SeatManager(range(5), store=url, event="show") as again:
        assert again.seat_status(0).state is SeatState.BOOKED
        assert again.seat_status(0).holder == "ann"
        assert again.seat_status(2).holder == "bob"
        assert again.seat_ids() == [0, 1, 2, 3, 4]


def test_events_in_one_file_are_separate(tmp_path: Path) -> None:
    url = url_of(tmp_path / "s.db")
    with SeatManager([1], store=url, event="a") as a, SeatManager([1], store=url, event="b") as b:
        assert a.lock_seat(1, "ann")
        assert b.lock_seat(1, "bob")
        assert a.seat_status(1).holder == "ann"


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    SQLiteStore(path).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE seatlock_meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(SeatlockError, match="schema version 99"):
        SQLiteStore(path)


def test_a_write_blocked_past_the_timeout_surely_did_not_happen(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with SeatManager([1], store=f"sqlite:///{path}?timeout=0.05", event="e") as manager:
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(NotPerformedError, match="locked"):
                manager.lock_seat(1, "ann")
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert manager.seat_status(1).state is SeatState.AVAILABLE
        assert manager.lock_seat(1, "ann")


def test_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(NotPerformedError, match="cannot open"):
        SQLiteStore(tmp_path / "no" / "such" / "s.db")


def test_sigkill_mid_bulk_leaves_no_partial_group(tmp_path: Path) -> None:
    url = url_of(tmp_path / "kill.db") + "?synchronous=normal"
    assert kill_mid_bulk(url, "kill") > 0
