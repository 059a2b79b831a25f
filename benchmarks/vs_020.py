"""This seatlock against the published seatlock 0.2.0, measured side by side in one run.

Run from the repo root (``make bench`` installs matplotlib first)::

    python -m benchmarks.vs_020 [--quick] [--repeat N] [--engine c|python]

It pip installs ``seatlock==0.2.0`` into a temporary directory (never into the repo),
then runs each workload of :mod:`benchmarks.workloads` in child processes of this same
interpreter (``python -S``, ``PYTHONPATH`` = that directory or this repo's ``src/``),
0.2.0 and new runs interleaved, their order alternating, and keeps the best of
``--repeat`` runs of each, so noise on a shared machine hits both alike. It prints a
table of old, new, ratio and target, writes the figures to
``benchmarks/results/vs_020.json`` and draws the ratios against their targets in
``benchmarks/results/vs_020.png`` (``vs_020_quick.*`` with ``--quick``, ``vs_020_python.*``
with ``--engine python``: the new side's memory store on its pure-Python engine, not
its C one). It exits with status 1 when a full run misses a target.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
RESULTS = ROOT / "benchmarks" / "results"
OLD_VERSION = "0.2.0"
TIMES = "\N{MULTIPLICATION SIGN}"

SIZES: dict[str, dict[str, dict[str, int]]] = {
    "full": {
        "lock_book_pairs": {"n": 100_000},
        "bulk_groups": {"n": 100_000, "group": 10},
        "cleanup_expired": {"n": 1_000_000, "expired": 10},
        "memory_per_seat": {"n": 200_000},
        "threads_contending": {"threads": 8, "seats": 1000, "ops": 25_000},
    },
    "quick": {
        "lock_book_pairs": {"n": 10_000},
        "bulk_groups": {"n": 10_000, "group": 10},
        "cleanup_expired": {"n": 50_000, "expired": 10},
        "memory_per_seat": {"n": 20_000},
        "threads_contending": {"threads": 8, "seats": 1000, "ops": 2_000},
    },
}
"""Workload parameters; the targets are stated for the ``full`` sizes."""


@dataclass(frozen=True)
class Check:
    """One row of the report: a figure of a workload, compared old against new."""

    title: str
    workload: str
    figure: str
    unit: str
    lower_is_better: bool
    target: float | None
    """Bound on ``ratio`` (None: shown for information only)."""
    new_over_old: bool = False
    """``ratio`` is new/old with ``target`` an upper bound (memory), else the gain."""

    def ratio(self, old: float, new: float) -> float:
        """new/old if ``new_over_old``, else how many times better new is than old."""
        if self.new_over_old:
            return new / old
        return old / new if self.lower_is_better else new / old

    def gain(self, old: float, new: float) -> float:
        """How many times better new is than old (for the chart)."""
        return old / new if self.lower_is_better else new / old

    def passed(self, ratio: float) -> bool | None:
        """Whether ``ratio`` meets the target (None if there is none)."""
        if self.target is None:
            return None
        return ratio <= self.target if self.new_over_old else ratio >= self.target

    def target_text(self) -> str:
        """The target as the table shows it."""
        if self.target is None:
            return "info"
        return f"≤ {times(self.target)}" if self.new_over_old else f"≥ {times(self.target)}"

    def best(self, runs: Sequence[float]) -> float:
        """The best of several runs."""
        return min(runs) if self.lower_is_better else max(runs)


CHECKS = (
    Check(
        "1 lock_seat + book_a_seat",
        "lock_book_pairs",
        "pairs_per_s",
        "pairs/s",
        lower_is_better=False,
        target=2.0,
    ),
    Check(
        "2 bulk lock + book, 10 seats",
        "bulk_groups",
        "seats_per_s",
        "seats/s",
        lower_is_better=False,
        target=1.5,
    ),
    Check(
        "3a cleanup, 1st call (10 expired)",
        "cleanup_expired",
        "first_call_s",
        "s",
        lower_is_better=True,
        target=1000.0,
    ),
    Check(
        "3b cleanup, again (0 expired)",
        "cleanup_expired",
        "repeat_call_s",
        "s",
        lower_is_better=True,
        target=1000.0,
    ),
    Check(
        "4 memory, SeatManager([Seat(i) ...])",
        "memory_per_seat",
        "dropped_bytes_per_seat",
        "B/seat",
        lower_is_better=True,
        target=0.7,
        new_over_old=True,
    ),
    Check(
        "4b memory, caller keeps its Seats",
        "memory_per_seat",
        "bytes_per_seat",
        "B/seat",
        lower_is_better=True,
        target=None,
        new_over_old=True,
    ),
    Check(
        "5 8 threads on 1k seats (wall)",
        "threads_contending",
        "wall_s",
        "s",
        lower_is_better=True,
        target=1.0,
    ),
)


def install_020(target: Path) -> str:
    """pip install seatlock 0.2.0 (no dependencies) into ``target``; return its version."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-deps",
        "--target",
        str(target),
        f"seatlock=={OLD_VERSION}",
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"could not install seatlock {OLD_VERSION}:\n{done.stderr}")
    (dist,) = importlib.metadata.distributions(name="seatlock", path=[str(target)])
    return dist.version


def run_child(
    path: Path, workload: str, params: dict[str, int], engine: str = "-"
) -> dict[str, float]:
    """Run ``workload`` in a child process that imports ``seatlock`` from ``path``.

    ``python -S`` keeps site-packages (and the editable install of this repo) out of the
    child, so ``seatlock`` can only come from ``path``; that is checked too, and so is
    the ``engine`` that ran (``"-"`` for 0.2.0, which has none).
    """
    env = {
        **os.environ,
        "PYTHONPATH": str(path),
        "PYTHONHASHSEED": "0",
        "SEATLOCK_MEMORY_ENGINE": "" if engine == "-" else engine,
    }
    command = [sys.executable, "-S", "-m", "benchmarks.workloads", workload, json.dumps(params)]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{workload} failed with seatlock from {path}:\n{done.stderr}")
    answer = json.loads(done.stdout.splitlines()[-1])
    imported = Path(answer["seatlock"]).resolve()
    if not imported.is_relative_to(path.resolve()):
        raise RuntimeError(f"child imported {imported}, not seatlock from {path}")
    if answer["engine"] != engine:
        raise RuntimeError(f"the {answer['engine']!r} engine ran, not {engine!r}")
    figures: dict[str, float] = answer["figures"]
    return figures


def measure(
    old_path: Path,
    sizes: dict[str, dict[str, int]],
    repeat: int,
    console: Console,
    engine: str,
) -> dict[str, dict[str, list[dict[str, float]]]]:
    """Every workload ``repeat`` times on each engine, old and new runs interleaved.

    Returns ``runs[workload][side]``: the figures of each run, ``side`` "old" or "new".
    """
    sides = {"old": (old_path, "-"), "new": (SRC, engine)}
    runs: dict[str, dict[str, list[dict[str, float]]]] = {
        workload: {"old": [], "new": []} for workload in sizes
    }
    for rep in range(repeat):
        for i, (workload, params) in enumerate(sizes.items()):
            order = ("old", "new") if (rep + i) % 2 == 0 else ("new", "old")
            for side in order:
                path, engine_name = sides[side]
                runs[workload][side].append(run_child(path, workload, params, engine_name))
            console.print(f"  run {rep + 1}/{repeat}: {workload} ({' then '.join(order)})")
    return runs


def summarise(
    runs: dict[str, dict[str, list[dict[str, float]]]], checks: Sequence[Check] = CHECKS
) -> list[dict[str, Any]]:
    """One row per check: best and median of old and new, their ratios, gain, pass/fail.

    Pass/fail is judged on the ratio of the best runs.
    """
    rows = []
    for check in checks:
        old_runs = [r[check.figure] for r in runs[check.workload]["old"]]
        new_runs = [r[check.figure] for r in runs[check.workload]["new"]]
        old, new = check.best(old_runs), check.best(new_runs)
        old_median, new_median = statistics.median(old_runs), statistics.median(new_runs)
        ratio = check.ratio(old, new)
        rows.append(
            {
                "title": check.title,
                "workload": check.workload,
                "figure": check.figure,
                "unit": check.unit,
                "lower_is_better": check.lower_is_better,
                "old": old,
                "new": new,
                "old_median": old_median,
                "new_median": new_median,
                "old_runs": old_runs,
                "new_runs": new_runs,
                "ratio": ratio,
                "median_ratio": check.ratio(old_median, new_median),
                "ratio_is": "new/old" if check.new_over_old else "times better",
                "gain": check.gain(old, new),
                "target": check.target,
                "target_text": check.target_text(),
                "target_gain": None
                if check.target is None
                else (1 / check.target if check.new_over_old else check.target),
                "passed": check.passed(ratio),
            }
        )
    return rows


def times(ratio: float) -> str:
    """A ratio with a multiplication sign: three significant digits below 100, whole above."""
    return f"{ratio:.3g}{TIMES}" if ratio < 100 else f"{ratio:,.0f}{TIMES}"


def fmt(value: float, unit: str) -> str:
    """A figure with its unit, readable (seconds scaled to ms/µs)."""
    if unit == "s":
        for scale, name in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs")):
            if value >= scale:
                return f"{value / scale:.3g} {name}"
        return f"{value * 1e9:.3g} ns"
    if unit == "B/seat":
        return f"{value:.1f} {unit}"
    return f"{value:,.0f} {unit}"


def table(rows: Sequence[dict[str, Any]], meta: dict[str, Any]) -> Table:
    """The rich table of the report."""
    sizes = meta["sizes"]
    threads = sizes["threads_contending"]
    result = Table(
        title=f"seatlock {meta['new_version']} ({meta['engine']} engine) vs {OLD_VERSION}",
        caption=(
            f"best of {meta['repeat']} runs per engine, interleaved, each in a child process; "
            f"Python {meta['python']}, {meta['machine']['cpu_count']} CPUs\n"
            f"seats: 1 {sizes['lock_book_pairs']['n']:,}; 2 {sizes['bulk_groups']['n']:,}; "
            f"3 {sizes['cleanup_expired']['n']:,}; 4 {sizes['memory_per_seat']['n']:,}; "
            f"5 {threads['seats']:,} ({threads['threads']} threads x {threads['ops']:,} "
            "lock + book/cancel)\n"
            "ratio (of the best runs; pass/fail) and ratio of the medians: "
            "times better than 0.2.0, except memory: new/old"
            + (
                "\nQUICK sizes: a smoke test, the targets are for the full sizes"
                if meta["quick"]
                else ""
            )
        ),
    )
    result.add_column("workload", no_wrap=True)
    for name in ("0.2.0", "new", "ratio", "of medians", "target"):
        result.add_column(name, justify="right")
    result.add_column("", no_wrap=True)
    for row in rows:
        verdict = {True: "[green]PASS[/]", False: "[bold red]FAIL[/]", None: "-"}[row["passed"]]
        result.add_row(
            row["title"],
            fmt(row["old"], row["unit"]),
            fmt(row["new"], row["unit"]),
            times(row["ratio"]),
            times(row["median_ratio"]),
            row["target_text"],
            verdict,
        )
    return result


def plot(rows: Sequence[dict[str, Any]], meta: dict[str, Any], path: Path) -> None:
    """Bar chart of how many times better new is than 0.2.0, with each target marked."""
    try:
        import matplotlib as mpl
    except ImportError:
        raise ImportError("the benchmark needs matplotlib: pip install -e '.[bench]'") from None
    mpl.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    colours = {True: "#2e7d32", False: "#c62828", None: "#9e9e9e"}
    fig, ax = plt.subplots(figsize=(11, 0.8 * len(rows) + 2.4))
    y = list(range(len(rows)))
    ax.barh(y, [r["gain"] for r in rows], color=[colours[r["passed"]] for r in rows], height=0.6)
    for i, row in enumerate(rows):
        label = times(row["gain"])
        if row["ratio_is"] == "new/old":
            label += f"  (new/old {row['ratio']:.3f})"
        if row["target_gain"] is not None:
            ax.vlines(row["target_gain"], i - 0.4, i + 0.4, colors="black", linestyles="--")
        right = max(row["gain"], row["target_gain"] or 0)
        ax.annotate(label, (right, i), xytext=(5, 0), textcoords="offset points", va="center")
    ax.axvline(1.0, color="#616161", linewidth=1)
    ax.set_xscale("log")
    ax.set_xlim(0.1, max(r["gain"] for r in rows) * 30)
    ticks = [
        f"{r['title']}\n" + ("no target" if r["target"] is None else f"target {r['target_text']}")
        for r in rows
    ]
    ax.set_yticks(y, ticks)
    ax.invert_yaxis()
    ax.set_xlabel("times better than 0.2.0: speed, or 0.2.0's bytes / new bytes (log scale)")
    ax.legend(
        handles=[
            Patch(color=colours[True], label="meets target"),
            Patch(color=colours[False], label="misses target"),
            Patch(color=colours[None], label="no target"),
            Line2D([], [], color="black", linestyle="--", label="target"),
            Line2D([], [], color="#616161", label="same as 0.2.0"),
        ],
        loc="lower right",
        fontsize=8,
    )
    ax.set_title(
        f"seatlock {meta['new_version']} ({meta['engine']} engine) vs {OLD_VERSION}: "
        f"best of {meta['repeat']} runs each"
        f"{' (QUICK sizes)' if meta['quick'] else ''}\n"
        f"Python {meta['python']}, {meta['machine']['cpu_count']} CPUs, {meta['date']}",
        fontsize=10,
    )
    fig.tight_layout()
    tmp = path.with_name(path.name + ".tmp")
    fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
    tmp.replace(path)


def write_json(document: dict[str, Any], path: Path) -> None:
    """Write ``document`` to ``path`` whole or not at all."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    tmp.replace(path)


def git_state() -> dict[str, Any]:
    """The commit measured, and whether src/ differs from it (read-only git calls)."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, check=False, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    return {
        "commit": git("rev-parse", "HEAD") or None,
        "src_modified": bool(git("status", "--porcelain", "--", "src")),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the comparison; return 1 if a full run misses a target."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.vs_020",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke test")
    parser.add_argument("--repeat", type=int, help="runs per engine and workload (5; quick 2)")
    parser.add_argument(
        "--engine",
        choices=("c", "python"),
        default="c",
        help="the new memory store's engine: compiled (default) or pure Python",
    )
    args = parser.parse_args(argv)
    repeat = args.repeat if args.repeat is not None else (2 if args.quick else 5)
    if repeat < 1:
        parser.error("--repeat must be at least 1")
    mode = "quick" if args.quick else "full"
    # Piped output (a log, CI) is not cut to 80 columns.
    console = Console() if sys.stdout.isatty() else Console(width=130)
    new_version = json.loads(
        subprocess.run(
            [
                sys.executable,
                "-S",
                "-c",
                "import json, seatlock; print(json.dumps(seatlock.__version__))",
            ],
            env={**os.environ, "PYTHONPATH": str(SRC)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    with tempfile.TemporaryDirectory(prefix="seatlock-020-") as tmp:
        console.print(f"installing seatlock {OLD_VERSION} from PyPI into {tmp} …")
        old_version = install_020(Path(tmp))
        console.print(f"measuring ({mode} sizes, {repeat} runs per engine and workload):")
        runs = measure(Path(tmp), SIZES[mode], repeat, console, args.engine)
    meta: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(["python -m benchmarks.vs_020", *(argv or sys.argv[1:])]),
        "quick": args.quick,
        "repeat": repeat,
        "aggregate": "best run (max throughput, min time/bytes); medians beside",
        "old_version": old_version,
        "new_version": new_version,
        "engine": args.engine,
        "new_source": git_state(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "machine": {
            "platform": platform.platform(),
            "machine": platform.machine(),
            "processor": platform.processor(),
            "cpu_count": os.cpu_count(),
        },
        "sizes": SIZES[mode],
    }
    rows = summarise(runs)
    console.print(table(rows, meta))
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = (
        "vs_020" + ("_quick" if args.quick else "") + ("_python" if args.engine == "python" else "")
    )
    write_json({**meta, "results": rows, "runs": runs}, RESULTS / f"{stem}.json")
    plot(rows, meta, RESULTS / f"{stem}.png")
    console.print(f"wrote {RESULTS / stem}.json and {RESULTS / stem}.png")
    missed = [row["title"] for row in rows if row["passed"] is False]
    if missed:
        console.print(f"[bold red]targets missed:[/] {'; '.join(missed)}")
    return 1 if missed and not args.quick else 0


if __name__ == "__main__":
    sys.exit(main())
