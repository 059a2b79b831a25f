"""seatlock's PostgreSQL store against the raw primitive it stands on, side by side.

Run from the repo root with PostgreSQL up (``pip install 'seatlock[postgres]'``)::

    python -m benchmarks.postgres_vs_raw [--url URL] [--ops N] [--repeat R]

Each workload locks seats that are all free, so every call succeeds:

* seatlock: ``lock_seat`` (one seat) or ``lock_seats_bulk`` (four seats) through a
  :class:`~seatlock.SeatManager` on a :class:`~seatlock.stores.postgres.PostgresStore`;
* raw: the bare conditional ``UPDATE`` of that one row (or those four rows, ``seat =
  ANY(…)``) through the same driver, on a table with seatlock's columns and primary key
  (without seatlock's partial index for cleanup), in autocommit.

Each runs with 1 client and with 16 concurrent clients (threads, each with its own
connection: raw clients own one, seatlock's store pools 16), seatlock and raw interleaved,
best of ``--repeat`` runs each. It prints locks per second and the ratio seatlock/raw
(target ≥ 0.7) and writes ``benchmarks/results/postgres_vs_raw.json``. Everything it
creates lives in two PostgreSQL schemas, dropped at the end.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg

from seatlock import SeatManager
from seatlock.stores.codec import encode_id
from seatlock.stores.postgres import PostgresStore

RESULTS = Path(__file__).resolve().parent / "results"
URL = os.environ.get("SEATLOCK_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
STORE_SCHEMA = "seatlock_bench"
RAW_SCHEMA = "seatlock_bench_raw"
TARGET = 0.7
CLIENTS = (1, 16)
GROUPS = {"single-seat lock": 1, "4-seat bulk lock": 4}
LOCK_TIMEOUT = 600.0

RAW_TABLE = f"""
CREATE SCHEMA {RAW_SCHEMA};
CREATE TABLE {RAW_SCHEMA}.seats (
    event bytea NOT NULL, seat bytea NOT NULL, state smallint NOT NULL DEFAULT 0,
    holder bytea, deadline double precision, token bigint, PRIMARY KEY (event, seat));
CREATE INDEX ON {RAW_SCHEMA}.seats (event, deadline) WHERE state = 1;
"""
RAW_LOCK = """
UPDATE {schema}.seats SET state = 1, holder = %s,
       deadline = date_part('epoch', clock_timestamp()) + %s
 WHERE event = %s AND {match}
   AND (state = 0 OR deadline <= date_part('epoch', clock_timestamp()))
"""
RAW_LOCK_ONE = RAW_LOCK.format(schema=RAW_SCHEMA, match="seat = %s")
RAW_LOCK_MANY = RAW_LOCK.format(schema=RAW_SCHEMA, match="seat = ANY (%s)")

Client = Callable[[list[list[int]]], None]
"""Locks each group of seats in turn (one call per group)."""


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


def seatlock_clients(store: PostgresStore, event: str, seats: int, clients: int) -> list[Client]:
    """One manager per client on ``store``, on a new event of ``seats`` free seats."""
    SeatManager(range(seats), store=store, event=event).close()
    managers = [
        SeatManager([], lock_timeout=LOCK_TIMEOUT, store=store, event=event)
        for _ in range(clients)
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


def raw_clients(connections: list[psycopg.Connection], seats: int) -> list[Client]:
    """Raw clients, one per connection, on a new event of ``seats`` free rows."""
    event = uuid.uuid4().bytes
    connections[0].execute(
        f"INSERT INTO {RAW_SCHEMA}.seats (event, seat) SELECT %s, s FROM unnest(%s::bytea[]) s",
        (event, [encode_id(i).encode() for i in range(seats)]),
    )

    def client(conn: psycopg.Connection) -> Client:
        def run(groups: list[list[int]]) -> None:
            for group in groups:
                ids = [encode_id(i).encode() for i in group]
                if len(ids) == 1:
                    cursor = conn.execute(RAW_LOCK_ONE, (b"s:user", LOCK_TIMEOUT, event, ids[0]))
                else:
                    cursor = conn.execute(RAW_LOCK_MANY, (b"s:user", LOCK_TIMEOUT, event, ids))
                assert cursor.rowcount == len(group), cursor.rowcount

        return run

    return [client(c) for c in connections]


def timed(clients: list[Client], size: int, ops: int) -> float:
    """Run every client at once, each locking ``ops`` groups of its own; return locks/s."""
    work = [
        [list(range(start, start + size)) for start in range(c * ops * size, (c + 1) * ops * size, size)]
        for c in range(len(clients))
    ]
    barrier = threading.Barrier(len(clients) + 1)
    errors: list[BaseException] = []

    def worker(client: Client, groups: list[list[int]]) -> None:
        barrier.wait()
        try:
            client(groups)
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=worker, args=(c, w)) for c, w in zip(clients, work, strict=True)
    ]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise errors[0]
    return len(clients) * ops / elapsed


def reset(url: str) -> None:
    """Drop the schemas a run makes and create the raw table afresh."""
    with psycopg.connect(url, autocommit=True) as conn:
        for schema in (STORE_SCHEMA, RAW_SCHEMA):
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        conn.execute(RAW_TABLE)


def measure(url: str, ops: int, repeat: int) -> list[Row]:
    """Every workload, seatlock and raw interleaved, best of ``repeat`` each."""
    reset(url)
    stores = {n: PostgresStore(url, schema=STORE_SCHEMA, min_size=n, max_size=n) for n in CLIENTS}
    connections = [psycopg.connect(url, autocommit=True) for _ in range(max(CLIENTS))]
    rows = []
    try:
        for workload, size in GROUPS.items():
            for clients in CLIENTS:
                store = stores[clients]
                seats = clients * ops * size
                best = {"seatlock": 0.0, "raw": 0.0}
                for _ in range(repeat):
                    event = f"bench-{uuid.uuid4().hex}"
                    ours = seatlock_clients(store, event, seats, clients)
                    best["seatlock"] = max(best["seatlock"], timed(ours, size, ops))
                    theirs = raw_clients(connections[:clients], seats)
                    best["raw"] = max(best["raw"], timed(theirs, size, ops))
                rows.append(Row(workload, clients, best["seatlock"], best["raw"]))
                print(f"  {workload}, {clients} client(s): done", flush=True)
    finally:
        for conn in connections:
            conn.close()
        for store in stores.values():
            store.close()
        with psycopg.connect(url, autocommit=True) as conn:
            for schema in (STORE_SCHEMA, RAW_SCHEMA):
                conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=URL, help="PostgreSQL URL (default: %(default)s)")
    parser.add_argument("--ops", type=int, default=1000, help="lock calls per client per run")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each, best kept")
    args = parser.parse_args()
    rows = measure(args.url, args.ops, args.repeat)
    print(report(rows))
    with psycopg.connect(args.url) as conn:
        server = conn.execute("SELECT version()").fetchone()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "postgres_vs_raw.json").write_text(
        json.dumps(
            {
                "when": datetime.datetime.now(datetime.timezone.utc).isoformat(),
                "python": platform.python_version(),
                "psycopg": psycopg.__version__,
                "server": None if server is None else server[0],
                "cpus": os.cpu_count(),
                "ops_per_client": args.ops,
                "repeat": args.repeat,
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
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
