"""Smoke test of the benchmark against this engine: tiny sizes, sane figures, no timing.

No network and no pip: the 0.2.0 side is only run by ``python -m benchmarks.vs_020``.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import pytest
from benchmarks import vs_020, workloads
from rich.console import Console

import seatlock
from seatlock.stores.memory import ENGINES

TINY: dict[str, dict[str, int]] = {
    "lock_book_pairs": {"n": 200},
    "bulk_groups": {"n": 200, "group": 10},
    "cleanup_expired": {"n": 1000, "expired": 10, "rounds": 2, "calls": 2},
    "memory_per_seat": {"n": 500},
    "threads_contending": {"threads": 4, "seats": 50, "ops": 200, "book_every": 10},
}


def test_every_workload_has_tiny_and_full_sizes() -> None:
    assert set(TINY) == set(workloads.WORKLOADS)
    assert set(vs_020.SIZES["full"]) == set(vs_020.SIZES["quick"]) == set(workloads.WORKLOADS)
    assert {check.workload for check in vs_020.CHECKS} == set(workloads.WORKLOADS)


@pytest.mark.parametrize("name", sorted(TINY))
def test_workload_figures_are_finite_and_positive(name: str) -> None:
    figures = workloads.WORKLOADS[name](**TINY[name])
    assert figures
    for key, value in figures.items():
        assert math.isfinite(value), key
        assert value > 0, key


def test_throughputs_agree_with_their_seconds() -> None:
    pairs = workloads.lock_book_pairs(300)
    assert pairs["pairs_per_s"] == pytest.approx(300 / pairs["seconds"])
    bulk = workloads.bulk_groups(300, group=10)
    assert bulk["seats_per_s"] == pytest.approx(300 / bulk["seconds"])


def test_cleanup_best_is_at_most_median() -> None:
    figures = workloads.cleanup_expired(2000, expired=10, rounds=3, calls=3)
    assert figures["first_call_s"] <= figures["first_call_median_s"]
    assert figures["repeat_call_s"] <= figures["repeat_call_median_s"]


def test_memory_counts_seats_and_ids() -> None:
    figures = workloads.memory_per_seat(2000)
    # An int id and a Seat object alone take more than 50 bytes; a seat is not 10 kB.
    assert 50 < figures["bytes_per_seat"] < 10_000
    # Dropping the caller's Seat objects frees memory, never adds.
    assert 0 < figures["dropped_bytes_per_seat"] <= figures["bytes_per_seat"]
    assert figures["peak_bytes_per_seat"] >= figures["bytes_per_seat"]


def test_threads_book_some_seats_and_count_every_call() -> None:
    figures = workloads.threads_contending(threads=3, seats=20, ops=300, book_every=5)
    assert 1 <= figures["booked"] <= 20
    assert figures["calls_per_s"] == pytest.approx(2 * 3 * 300 / figures["wall_s"])


def test_these_tests_measure_the_new_engine() -> None:
    assert vs_020.SRC in Path(seatlock.__file__).resolve().parents


@pytest.mark.parametrize("engine", ENGINES)
def test_child_process_runs_a_workload_on_the_seatlock_of_its_path(engine: str) -> None:
    # run_child itself checks that the child imported seatlock from the path given, and
    # that the engine asked for ran.
    figures = vs_020.run_child(vs_020.SRC, "lock_book_pairs", {"n": 100}, engine)
    assert figures["pairs_per_s"] > 0


def test_child_process_reports_the_engine_that_ran() -> None:
    with pytest.raises(RuntimeError, match=f"the {ENGINES[0]!r} engine ran, not '-'"):
        vs_020.run_child(vs_020.SRC, "lock_book_pairs", {"n": 100})


def test_child_process_never_falls_back_to_the_installed_seatlock(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="No module named 'seatlock'"):
        vs_020.run_child(tmp_path, "lock_book_pairs", {"n": 100})


def test_summary_ratios_targets_and_table() -> None:
    figures = {
        "lock_book_pairs": ({"pairs_per_s": 100.0}, {"pairs_per_s": 250.0}),
        "bulk_groups": ({"seats_per_s": 100.0}, {"seats_per_s": 120.0}),
        "cleanup_expired": (
            {"first_call_s": 1.0, "repeat_call_s": 1.0},
            {"first_call_s": 1e-4, "repeat_call_s": 1e-2},
        ),
        "memory_per_seat": (
            {"bytes_per_seat": 200.0, "dropped_bytes_per_seat": 200.0},
            {"bytes_per_seat": 150.0, "dropped_bytes_per_seat": 80.0},
        ),
        "threads_contending": ({"wall_s": 1.0}, {"wall_s": 0.5}),
    }
    runs = {name: {"old": [old], "new": [new]} for name, (old, new) in figures.items()}
    rows = {row["title"][:2].strip(): row for row in vs_020.summarise(runs)}
    assert rows["1"]["ratio"] == pytest.approx(2.5)
    assert rows["1"]["passed"] is True
    assert rows["2"]["passed"] is False
    assert rows["3a"]["ratio"] == pytest.approx(1e4)
    assert rows["3a"]["passed"] is True
    assert rows["3b"]["passed"] is False
    assert rows["4"]["ratio"] == pytest.approx(0.4)  # SeatManager([Seat(i) ...]): list dropped
    assert rows["4"]["gain"] == pytest.approx(200 / 80)
    assert rows["4"]["passed"] is True
    assert rows["4b"]["ratio"] == pytest.approx(0.75)  # the caller keeps its Seats
    assert rows["4b"]["passed"] is None
    assert rows["5"]["ratio"] == pytest.approx(2.0)
    assert rows["5"]["passed"] is True
    meta = {
        "new_version": "x",
        "engine": "c",
        "repeat": 1,
        "python": "3",
        "machine": {"cpu_count": 2},
        "quick": False,
        "sizes": vs_020.SIZES["full"],
    }
    out = io.StringIO()
    Console(file=out, width=120).print(vs_020.table(list(rows.values()), meta))
    assert "(c engine)" in out.getvalue()
    assert "FAIL" in out.getvalue()
    assert "PASS" in out.getvalue()
