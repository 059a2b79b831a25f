"""``python -m seatlock.testing soak --store URL --seconds N``: a long torture run.

Runs :func:`~seatlock.testing.soak_round` again and again, each round on a new event
``soak-<id>-<round>`` (they are left in the store: use a scratch database), and prints
each round's figures and the checker's verdict. Exit status 0 when no round broke a rule,
1 when one did.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from urllib.parse import urlsplit

from ._torture import soak_round


def main(argv: list[str] | None = None) -> int:
    """Run the command with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m seatlock.testing")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    soak = commands.add_parser("soak", help="race clients on a store for a while; check it all")
    soak.add_argument("--store", required=True, metavar="URL", help="the store, e.g. redis://…")
    soak.add_argument("--seconds", type=float, default=60.0, help="how long (default %(default)s)")
    soak.add_argument(
        "--round", type=float, default=5.0, help="seconds per event (default %(default)s)"
    )
    soak.add_argument(
        "--clients", type=int, default=8, help="threads per process (default %(default)s)"
    )
    soak.add_argument(
        "--processes", type=int, default=None, help="extra processes (default 2; 0 for memory://)"
    )
    soak.add_argument(
        "--seats", type=int, default=120, help="seats per event (default %(default)s)"
    )
    soak.add_argument(
        "--hold", type=float, default=0.05, help="lock_timeout, s (default %(default)s)"
    )
    soak.add_argument("--seed", type=int, default=0, help="seeds the clients (default %(default)s)")
    args = parser.parse_args(argv)
    private = urlsplit(args.store).scheme == "memory"
    processes = args.processes if args.processes is not None else (0 if private else 2)
    if private and processes:
        parser.error("memory:// is private to one process: use --processes 0")

    name = f"soak-{uuid.uuid4().hex[:8]}"
    seat_ids = list(range(args.seats))
    end = time.monotonic() + args.seconds
    failed = rounds = operations = expired = 0
    while (left := end - time.monotonic()) > 0:
        verdict = soak_round(
            args.store,
            f"{name}-{rounds}",
            seat_ids,
            lock_timeout=args.hold,
            seconds=min(args.round, left),
            clients=args.clients,
            processes=processes,
            seed=args.seed + rounds,
        )
        rounds += 1
        operations += verdict.operations
        expired += verdict.expired
        failed += not verdict
        print(
            f"round {rounds}: {verdict.report() if not verdict else verdict.summary()}", flush=True
        )
    print(
        f"{rounds} rounds, {operations} operations checked, {expired} holds expired: "
        + (f"{failed} rounds FAILED" if failed else "no violation")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
