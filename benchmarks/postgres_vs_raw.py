"""seatlock's PostgreSQL store against the raw primitive it stands on, side by side.

Run from the repo root with PostgreSQL up (``pip install 'seatlock[postgres]'``)::

    python -m benchmarks.postgres_vs_raw [--url URL] [--ops N] [--repeat R]

Each workload locks seats that are all free, so every call succeeds:

* seatlock: ``lock_seat`` (one seat) or ``lock_seats_bulk`` (four seats) through a
  :class:`~seatlock.SeatManager` on a :class:`~seatlock.stores.postgres.PostgresStore`;
* raw: the bare conditional ``UPDATE`` of that one row (or those four rows, ``seat =
  ANY (…)``) through the same driver (psycopg), in autocommit, on a table of the same
  columns and indexes as seatlock's ``seats``.

Each runs with 1 client and with 16 concurrent clients (threads, each with its own
connection: raw clients own one each, seatlock's store pools as many as there are
clients), seatlock and raw interleaved, best of ``--repeat`` runs each. It prints locks per
second and the ratio seatlock/raw (target ≥ 0.7) and writes
``benchmarks/results/postgres_vs_raw.json``. What it creates lives in two PostgreSQL
schemas, dropped at the end.
"""

from __future__ import annotations

import os
import uuid

import psycopg

from seatlock.stores.codec import encode_id
from seatlock.stores.postgres import PostgresStore

from . import vs_raw
from .vs_raw import CLIENTS, LOCK_TIMEOUT, Client, Row, seatlock_clients

URL = os.environ.get("SEATLOCK_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
STORE_SCHEMA = "seatlock_bench"
RAW_SCHEMA = "seatlock_bench_raw"
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


def drop_schemas(url: str, create_raw: bool) -> None:
    """Drop the schemas a run makes; then create the raw table if asked."""
    with psycopg.connect(url, autocommit=True) as conn:
        for schema in (STORE_SCHEMA, RAW_SCHEMA):
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        if create_raw:
            conn.execute(RAW_TABLE)


def measure(url: str, ops: int, repeat: int) -> list[Row]:
    """Every workload, seatlock and raw interleaved, best of ``repeat`` each."""
    drop_schemas(url, create_raw=True)
    stores = {n: PostgresStore(url, schema=STORE_SCHEMA, min_size=n, max_size=n) for n in CLIENTS}
    connections = [psycopg.connect(url, autocommit=True) for _ in range(max(CLIENTS))]

    def ours(event: str, seats: int, clients: int) -> list[Client]:
        return seatlock_clients(stores[clients], event, seats, clients)

    def theirs(event: str, seats: int, clients: int) -> list[Client]:
        return raw_clients(connections[:clients], seats)

    try:
        return vs_raw.measure(ops, repeat, ours, theirs)
    finally:
        for conn in connections:
            conn.close()
        for store in stores.values():
            store.close()
        drop_schemas(url, create_raw=False)


def about(url: str) -> dict[str, str]:
    """The driver's and the server's versions."""
    with psycopg.connect(url) as conn:
        server = conn.execute("SHOW server_version").fetchone()
    return {
        "psycopg": psycopg.__version__,
        "server": f"PostgreSQL {server[0] if server else '?'}",
    }


def main() -> None:
    vs_raw.main("postgres_vs_raw", __doc__, "PostgreSQL", (URL, 500, 9), measure, about)


if __name__ == "__main__":
    main()
