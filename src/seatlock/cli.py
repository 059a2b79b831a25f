"""The ``seatlock`` command line; ``seatlock demo`` runs and audits a simulated on-sale.

The simulation lives in :mod:`seatlock.demo`; this module parses options and presents the
report with rich, the optional extra ``seatlock[cli]``, imported only when needed.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from . import __version__
from .demo import DEFAULT_STORE, ROW_LENGTH, DemoConfig, DemoReport, run_demo
from .errors import SeatlockError

if TYPE_CHECKING:
    from rich.table import Table

RICH_MISSING = (
    "seatlock demo needs rich for its progress bar and report: pip install 'seatlock[cli]'"
)
"""What ``seatlock demo`` says when rich is not installed."""

_DEMO_HELP = f"""\
Simulate an on-sale: BUYERS threads race for a venue's seats (rows of {ROW_LENGTH}). Each
buyer holds 1-4 adjacent seats if it can (trying other seats when refused), then books
them, pays too late, cancels or walks away; a janitor thread cleans up expired holds.
The report then checks the guarantees (no double booking, no partial group, no lost
booking, no hold taken while live, no booking after expiry, every expiry counted once,
every result explained) with seatlock.testing's history checker, against every recorded
call and the seats' final state.

The demo runs on the embedded default store, {DEFAULT_STORE}, unless --store names
another. Exit status: 0 when every check passes, 1 when one fails, 2 when the demo
cannot run (bad option, store failure, rich missing)."""


def main(argv: list[str] | None = None) -> int:
    """Run the ``seatlock`` command with ``argv`` (default ``sys.argv[1:]``).

    Returns the exit status; ``--help``, ``--version`` and bad options exit through
    ``SystemExit``, as with any argparse program.
    """
    parser = argparse.ArgumentParser(
        prog="seatlock", description="seatlock: lock, book, cancel and expire seats safely."
    )
    parser.add_argument("--version", action="version", version=f"seatlock {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = commands.add_parser(
        "demo",
        help="simulate an on-sale with racing buyers and audit the result",
        description=_DEMO_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    defaults = DemoConfig()
    demo.add_argument(
        "--store",
        metavar="URL",
        default=DEFAULT_STORE,
        help="where the seats live, e.g. sqlite:///demo.db (default: %(default)s)",
    )
    demo.add_argument(
        "--event", metavar="NAME", help="the event's name (default: a new demo-… name each run)"
    )
    demo.add_argument(
        "--seats",
        metavar="N",
        type=int,
        default=defaults.seats,
        help="seats (default: %(default)s)",
    )
    demo.add_argument(
        "--buyers",
        metavar="N",
        type=int,
        default=defaults.buyers,
        help="concurrent buyers, one thread each (default: %(default)s)",
    )
    demo.add_argument(
        "--hold",
        metavar="SECONDS",
        type=float,
        default=defaults.hold,
        help="how long a hold lasts before it expires (default: %(default)s)",
    )
    demo.add_argument(
        "--time-limit",
        metavar="SECONDS",
        type=float,
        default=defaults.time_limit,
        help="stop the sale after this long if it has not sold out (default: %(default)s)",
    )
    demo.add_argument(
        "--seed", type=int, help="seed for the buyers' choices (default: random, reported)"
    )
    args = parser.parse_args(argv)
    try:
        config = DemoConfig(
            store=args.store,
            event=args.event,
            seats=args.seats,
            buyers=args.buyers,
            hold=args.hold,
            time_limit=args.time_limit,
            seed=args.seed,
        )
    except ValueError as exc:
        demo.error(str(exc))
    return _demo(config)


def _demo(config: DemoConfig) -> int:
    """Run the demo with a progress bar, print the report; the exit status."""
    try:
        from rich.console import Console  # noqa: PLC0415 (rich is optional)
        from rich.progress import (  # noqa: PLC0415
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )
    except ImportError:
        print(RICH_MISSING, file=sys.stderr)
        return 2
    console = Console()
    console.print(
        f"[bold]On sale:[/] {config.seats:,} seats, {config.buyers} concurrent buyers, "
        f"holds of {config.hold:g} s, store {config.store}"
    )
    columns = (
        TextColumn("Seats sold"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    try:
        with Progress(*columns, console=console) as bar:
            task = bar.add_task("sold", total=config.seats)
            report = run_demo(config, lambda sold: bar.update(task, completed=sold))
    except (SeatlockError, ValueError) as exc:
        print(f"seatlock demo: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("seatlock demo: interrupted", file=sys.stderr)
        return 130
    console.print(_summary(report))
    console.print(_checks(report))
    failed = sum(not check.passed for check in report.audit.checks)
    if failed:
        console.print(report.audit.verdict.report(), markup=False, highlight=False)
        console.print(f"[bold red]{failed} of {len(report.audit.checks)} checks FAILED.")
        return 1
    console.print(
        f"[bold green]All {len(report.audit.checks)} guarantees hold[/] "
        "in the recorded history and the final state."
    )
    return 0


def _summary(report: DemoReport) -> Table:
    """What happened during the sale."""
    from rich.table import Table  # noqa: PLC0415 (rich is optional)

    audit = report.audit
    ending = (
        f"sold out in {report.elapsed:.1f} s"
        if report.sold_out
        else f"time limit reached after {report.elapsed:.1f} s"
    )
    rows = (
        ("Seats sold", f"{audit.sold:,} / {report.config.seats:,}", ending),
        ("Buyers", f"{audit.customers:,}", f"{report.config.buyers} at a time"),
        ("Holds taken", f"{audit.holds:,}", f"{audit.held_seats:,} seats"),
        ("Groups booked in one bulk call", f"{audit.groups_booked:,}", ""),
        ("Conflicts", f"{audit.conflicts:,}", "lock calls refused: seats held or sold"),
        ("Seat holds cancelled", f"{audit.cancelled:,}", "released by their holder"),
        ("Seat holds expired", f"{audit.expired:,}", "neither booked nor cancelled in time"),
        (
            "  released by cleanup",
            f"{audit.released:,}",
            f"janitor {report.janitor_released:,}, final sweep {report.final_sweep:,}",
        ),
        ("  taken over after expiry", f"{audit.taken_over:,}", "a new lock replaced them"),
        ("Checkouts refused", f"{audit.refused_checkouts:,}", "paid after the hold expired"),
    )
    table = Table(
        title=f"Event {report.event} on {report.config.store} (seed {report.seed})",
        show_header=False,
    )
    table.add_column()
    table.add_column(justify="right")
    table.add_column(style="dim")
    for row in rows:
        table.add_row(*row)
    return table


def _checks(report: DemoReport) -> Table:
    """The guarantees, each checked against the history of results."""
    from rich.table import Table  # noqa: PLC0415 (rich is optional)

    table = Table(title="Guarantees, checked against every recorded result")
    table.add_column("Check")
    table.add_column("Rule")
    table.add_column("Found", justify="right")
    table.add_column("")
    for check in report.audit.checks:
        verdict = "[green]pass" if check.passed else "[bold red]FAIL"
        table.add_row(check.name, check.rule, str(check.violations), verdict)
    return table
