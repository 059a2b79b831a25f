"""What the store-versus-raw benchmarks share: the runs, timing clients, the table, the
JSON file and the command line.

A client is a callable that locks each group of seats it is given, one call per group;
:func:`timed` runs several at once (threads) and gives successful locks per second;
:func:`measure` times seatlock's clients and the raw ones, interleaved, for every workload.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import json
import os
import platform
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seatlock import SeatManager, Store

from .workloads import run_together

RESULTS = Path(__file__).resolve().parent / "results"
TARGET = 0.7
"""The least seatlock/raw throughput ratio the benchmarks aim at."""
CLIENTS = (1, 16)
GROUPS = {"single-seat lock": 1, "4-seat bulk lock": 4}
"""Workload → seats per lock call."""

Client = Callable[[list[list[int]]], None]
"""Locks each group of seats in turn (one call per group)."""
Clients = Callable[[str, int, int], list[Client]]
"""Makes clients for a run: given a new event's name, its seats (all free) and how many."""
LOCK_TIMEOUT = 600.0
"""Seconds: no lock expires during a run."""


@dataclass(frozen=True)
class Row:
    """One line of the report."""

    workload: str
    clients: int
    seatlock: float
    raw: float

    @property
    def ratio(self) -> float:
        return self.seatlock / self.raw


def seatlock_clients(store: Store, event: str, seats: int, clients: int) -> list[Client]:
    """One manager per client on ``store``, on a new event of ``seats`` free seats, whose
    locks (of ``LOCK_TIMEOUT``) must all succeed."""
    SeatManager(range(seats), store=store, event=event).close()
    managers = [
        SeatManager([], lock_timeout=LOCK_TIMEOUT, store=store, event=event) for _ in range(clients)
    ]

    def client(manager: SeatManager) -> Client:
        def run(groups: list[list[int]]) -> None:
            for group in groups:
                result = (
                    manager.lock_seat(group[0], "user")
                    if len(group) == 1
                    else manager.lock_seats_bulk(group, "user")
                )
                assert result, result

        return run

    return [client(m) for m in managers]


def timed(clients: list[Client], size: int, ops: int) -> float:
    """Run every client at once, each locking ``ops`` groups of its own; return locks/s."""
    work = [
        [
            list(range(start, start + size))
            for start in range(c * ops * size, (c + 1) * ops * size, size)
        ]
        for c in range(len(clients))
    ]
    elapsed = run_together([functools.partial(c, w) for c, w in zip(clients, work, strict=True)])
    return len(clients) * ops / elapsed


def measure(ops: int, repeat: int, ours: Clients, theirs: Clients) -> list[Row]:
    """Every workload, seatlock (``ours``) and raw (``theirs``) interleaved, best of
    ``repeat`` each; each run on a new event."""
    rows = []
    for workload, size in GROUPS.items():
        for clients in CLIENTS:
            seats = clients * ops * size
            best = {"seatlock": 0.0, "raw": 0.0}
            for _ in range(repeat):
                event = f"bench-{uuid.uuid4().hex}"
                best["seatlock"] = max(
                    best["seatlock"], timed(ours(event, seats, clients), size, ops)
                )
                best["raw"] = max(best["raw"], timed(theirs(event, seats, clients), size, ops))
            rows.append(Row(workload, clients, best["seatlock"], best["raw"]))
            print(f"  {workload}, {clients} client(s): done", flush=True)
    return rows


def report(rows: list[Row]) -> str:
    """The table of figures and ratios."""
    lines = [
        f"{'workload':<18} {'clients':>7} {'seatlock/s':>11} {'raw/s':>9} {'ratio':>6}  target",
    ]
    for row in rows:
        verdict = "ok" if row.ratio >= TARGET else "MISSED"
        lines.append(
            f"{row.workload:<18} {row.clients:>7} {row.seatlock:>11.0f} {row.raw:>9.0f} "
            f"{row.ratio:>5.2f}x  >= {TARGET}x {verdict}"
        )
    return "\n".join(lines)


def write_results(name: str, rows: list[Row], **about: Any) -> Path:
    """Write ``results/<name>.json``: when, where, ``about`` (versions, sizes) and rows."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    document = {
        "when": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        **about,
        "target": TARGET,
        "unit": "successful lock calls per second",
        "rows": [
            {
                "workload": r.workload,
                "clients": r.clients,
                "seatlock": round(r.seatlock, 1),
                "raw": round(r.raw, 1),
                "ratio": round(r.ratio, 3),
            }
            for r in rows
        ],
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path


def main(
    name: str,
    doc: str,
    server: str,
    defaults: tuple[str, int, int],
    run: Callable[[str, int, int], list[Row]],
    about: Callable[[str], dict[str, Any]],
) -> None:
    """The command line of the benchmark ``name`` (its module's ``doc``) against
    ``server``: ``--url``, ``--ops`` and ``--repeat`` (their ``defaults``) go to ``run``;
    it prints the table and writes ``results/<name>.json`` with ``about(url)`` (driver
    and server versions).
    """
    url, ops, repeat = defaults
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--url", default=url, help=f"{server} URL (default: %(default)s)")
    parser.add_argument("--ops", type=int, default=ops, help="lock calls per client per run")
    parser.add_argument("--repeat", type=int, default=repeat, help="runs of each, best kept")
    args = parser.parse_args()
    rows = run(args.url, args.ops, args.repeat)
    print(report(rows))
    write_results(name, rows, **about(args.url), ops_per_client=args.ops, repeat=args.repeat)
