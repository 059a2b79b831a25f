"""The ``seatlock`` command: ``demo``, ``--help``, ``--version`` and their failure paths."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import seatlock.cli
from seatlock import (
    NotPerformedError,
    Op,
    Reason,
    SeatId,
    SeatState,
    SeatStatus,
    __version__,
)
from seatlock.cli import RICH_MISSING, main
from seatlock.demo import DEFAULT_STORE, DemoConfig, DemoReport, audit, run_demo
from seatlock.testing import Operation

FAST = ["--seats", "60", "--buyers", "8", "--hold", "0.2", "--seed", "7"]


@pytest.fixture(autouse=True)
def _in_a_scratch_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The default store is a file in the working directory: keep it out of the repo."""
    monkeypatch.chdir(tmp_path)


def spy_on_reports(monkeypatch: pytest.MonkeyPatch) -> list[DemoReport]:
    """Make ``main`` keep the reports it presents."""
    reports: list[DemoReport] = []

    def spy(config: DemoConfig, progress: object) -> DemoReport:
        report = run_demo(config, progress)  # type: ignore[arg-type]
        reports.append(report)
        return report

    monkeypatch.setattr(seatlock.cli, "run_demo", spy)
    return reports


def test_demo_passes_with_a_consistent_report(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = spy_on_reports(monkeypatch)
    assert main(["demo", *FAST]) == 0
    [report] = reports
    audit = report.audit
    assert report.config.seats == 60
    assert report.seed == 7
    assert all(check.violations == 0 for check in audit.checks)
    assert audit.sold <= 60
    assert audit.sold == audit.booked_seats
    assert audit.held_seats == audit.booked_seats + audit.cancelled + audit.expired
    assert audit.expired == audit.released + audit.taken_over
    assert audit.taken_over >= 0
    assert audit.released == report.janitor_released + report.final_sweep
    assert audit.holds <= audit.customers
    out = capsys.readouterr().out
    assert "Seats sold" in out
    assert "double bookings" in out
    assert f"All {len(audit.checks)} guarantees hold" in out


def test_demo_on_a_shared_store_reads_back_and_refuses_a_used_event(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = spy_on_reports(monkeypatch)
    store = f"sqlite:///{tmp_path / 'demo.db'}"
    assert main(["demo", *FAST, "--store", store, "--event", "gala"]) == 0
    assert reports[0].audit.sold == reports[0].audit.booked_seats
    assert main(["demo", *FAST, "--store", store, "--event", "gala"]) == 2
    assert "already has" in capsys.readouterr().err


def test_a_failed_check_exits_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    double = [Operation(Op.BOOK, ("A1",), user, 1.0, 0, 0, Reason.OK) for user in ("u1", "u2")]
    final: dict[SeatId, SeatStatus] = {"A1": SeatStatus("A1", SeatState.BOOKED, "u1")}
    report = DemoReport(
        config=DemoConfig(),
        event="gala",
        seed=1,
        elapsed=0.1,
        janitor_released=0,
        final_sweep=0,
        audit=audit(double, [], final, released=0),
    )

    monkeypatch.setattr(seatlock.cli, "run_demo", lambda config, progress: report)
    assert main(["demo"]) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out
    assert "double_booking on seat 'A1'" in out  # the checker's findings, in full
    assert "book('A1', 'u2') [0.000000, 0.000000] -> ok" in out


def test_a_store_failure_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def fail(config: DemoConfig, progress: object) -> DemoReport:
        raise NotPerformedError("database is locked")

    monkeypatch.setattr(seatlock.cli, "run_demo", fail)
    assert main(["demo"]) == 2
    assert "seatlock demo: database is locked" in capsys.readouterr().err


def test_missing_rich_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for module in ("rich", "rich.console", "rich.progress", "rich.table"):
        monkeypatch.setitem(sys.modules, module, None)
    monkeypatch.setattr(seatlock.cli, "run_demo", None)  # must not be reached
    assert main(["demo"]) == 2
    err = capsys.readouterr().err
    assert err == RICH_MISSING + "\n"
    assert "pip install 'seatlock[cli]'" in err


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--seats", "0", "seats must be a whole number > 0"),
        ("--buyers", "-1", "buyers must be a whole number > 0"),
        ("--hold", "nan", "hold must be a finite number of seconds > 0"),
        ("--time-limit", "0", "time_limit must be a finite number of seconds > 0"),
        ("--seats", "many", "invalid int value"),
    ],
)
def test_bad_options_exit_2(
    option: str, value: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["demo", option, value])
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_a_command_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([])
    assert exit_.value.code == 2
    assert "COMMAND" in capsys.readouterr().err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"seatlock {__version__}\n"


def test_python_m_seatlock_help() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "seatlock", "--help"], capture_output=True, text=True, check=True
    )
    assert done.stdout.startswith("usage: seatlock ")
    assert "demo" in done.stdout


def test_demo_help_says_it_runs_on_the_embedded_default() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "seatlock", "demo", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    text = " ".join(done.stdout.split())
    assert f"runs on the embedded default store, {DEFAULT_STORE}" in text
    for option in ("--store", "--seats", "--buyers", "--hold", "--seed", "--event"):
        assert option in text
