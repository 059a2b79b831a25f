"""seatlock's Redis store against the raw primitive it stands on, side by side.

Run from the repo root with Redis up (``pip install 'seatlock[redis]'``)::

    python -m benchmarks.redis_vs_raw [--url URL] [--ops N] [--repeat R]

Each workload locks seats that are all free, so every call succeeds:

* seatlock: ``lock_seat`` (one seat) or ``lock_seats_bulk`` (four seats) through a
  :class:`~seatlock.SeatManager` on a :class:`~seatlock.stores.redis.RedisStore`;
* raw: a minimal ``EVALSHA`` script that ``HSET``\\ s that one field (or those four
  fields) of a hash, through the same driver (redis-py, one client and its pool, with
  the store's socket timeouts).

Each runs with 1 client and with 16 concurrent clients (threads sharing the store, or the
raw client, and its connection pool), seatlock and raw interleaved, best of ``--repeat``
runs each. It prints locks per second and the ratio seatlock/raw (target ≥ 0.7) and
writes ``benchmarks/results/redis_vs_raw.json``. It deletes every key it creates.
"""

from __future__ import annotations

import os

import redis

from seatlock.stores.codec import encode_id
from seatlock.stores.redis import CONNECT_TIMEOUT, SOCKET_TIMEOUT, RedisStore, event_keys

from . import vs_raw
from .vs_raw import Client, Row, seatlock_clients

URL = os.environ.get("SEATLOCK_TEST_REDIS", "redis://127.0.0.1:6379/0")
RAW_LOCK = "return redis.call('HSET', KEYS[1], unpack(ARGV))"
"""The raw primitive: set the given fields (seat → holder) of one hash."""


def raw_clients(raw: redis.Redis, sha: str, key: str, clients: int) -> list[Client]:
    """Raw clients on one shared redis-py client, setting fields of the hash ``key``."""

    def run(groups: list[list[int]]) -> None:
        for group in groups:
            fields: list[str] = []
            for seat in group:
                fields += (encode_id(seat), "s:user")
            assert raw.evalsha(sha, 1, key, *fields) == len(group)

    return [run] * clients


def measure(url: str, ops: int, repeat: int) -> list[Row]:
    """Every workload, seatlock and raw interleaved, best of ``repeat`` each."""
    store = RedisStore(url)
    raw = redis.Redis.from_url(
        url,
        decode_responses=True,
        socket_timeout=SOCKET_TIMEOUT,
        socket_connect_timeout=CONNECT_TIMEOUT,
    )
    sha = raw.script_load(RAW_LOCK)
    made: list[str] = []

    def ours(event: str, seats: int, clients: int) -> list[Client]:
        made.extend(event_keys(event))
        return seatlock_clients(store, event, seats, clients)

    def theirs(event: str, seats: int, clients: int) -> list[Client]:
        made.append(f"seatlock-bench-raw:{event}")
        return raw_clients(raw, sha, made[-1], clients)

    try:
        return vs_raw.measure(ops, repeat, ours, theirs)
    finally:
        for key in made:
            raw.delete(key)
        raw.close()
        store.close()


def about(url: str) -> dict[str, str]:
    """The driver's and the server's versions."""
    with redis.Redis.from_url(url, decode_responses=True) as client:
        server = client.info("server")["redis_version"]
    return {"redis_py": redis.__version__, "server": f"Redis {server}"}


def main() -> None:
    vs_raw.main("redis_vs_raw", __doc__, "Redis", (URL, 2000, 3), measure, about)


if __name__ == "__main__":
    main()
