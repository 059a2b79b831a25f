"""Redis Cluster-only behaviour: events spread over shards, one event on one shard.

The cluster is the test run's own (the session fixture ``redis_cluster_url`` in
``tests/conftest.py``: three masters, no replicas); the conformance suite and the
store tests of ``test_redis.py`` run on it too.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from seatlock import NotPerformedError, SeatManager, SeatState
from seatlock.stores.redis import event_keys
from seatlock.stores.redis_cluster import RedisClusterStore

from ..redis_servers import open_redis, start_cluster
from ..services import free_port


def cluster_client(store: RedisClusterStore) -> Any:
    """The store's ``RedisCluster`` (whose node-routing methods redis-py leaves untyped)."""
    from redis.cluster import RedisCluster

    client = store.client
    assert isinstance(client, RedisCluster)
    return client


@pytest.fixture
def store(redis_cluster_url: str) -> Iterator[RedisClusterStore]:
    opened = open_redis(redis_cluster_url, RedisClusterStore)
    yield opened
    opened.close()


def events_on_every_shard(client: Any, per_shard: int) -> dict[str, str]:
    """Fresh event names, ``per_shard`` of them on each primary: event -> shard name.

    Names are drawn until every shard has its share; if events could not spread (say
    every event's keys hashed to one slot) the draw runs out and the test fails.
    """
    primaries = {node.name for node in client.get_primaries()}
    chosen: dict[str, str] = {}
    for i in range(100 * per_shard * len(primaries)):
        event = f"show-{i}-{uuid.uuid4().hex}"
        shard = client.get_node_from_key(event_keys(event)[0]).name
        if sum(mine == shard for mine in chosen.values()) < per_shard:
            chosen[event] = shard
        if len(chosen) == per_shard * len(primaries):
            return chosen
    raise AssertionError(f"events did not spread over the shards {sorted(primaries)}: {chosen}")


def test_events_land_on_different_shards_and_each_works(store: RedisClusterStore) -> None:
    client = cluster_client(store)
    shards = events_on_every_shard(client, per_shard=4)
    try:
        for i, (event, shard) in enumerate(shards.items()):
            manager = SeatManager([1, 2, 3], lock_timeout=30, store=store, event=event)
            assert manager.lock_seats_bulk([1, 2], f"user{i}")
            assert manager.book_a_seat(1, f"user{i}")
            slot = client.keyslot(event_keys(event)[0])
            for node in client.get_primaries():  # the event's keys are on its shard only
                held = client.execute_command("CLUSTER COUNTKEYSINSLOT", slot, target_nodes=node)
                assert held == (3 if node.name == shard else 0)
        for i, event in enumerate(shards):
            again = SeatManager([], store=store, event=event)
            assert again.seat_ids(SeatState.BOOKED) == [1]
            assert again.seat_status(2).holder == f"user{i}"
    finally:
        for event in shards:
            store.client.delete(*event_keys(event))


@pytest.mark.parametrize(
    "url",
    ["redis+cluster://", "redis+cluster://127.0.0.1:7000/1", "redis://127.0.0.1:7000"],
)
def test_bad_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="redis\\+cluster://host:port"):
        RedisClusterStore(url)


def test_an_unreachable_cluster_is_not_performed() -> None:
    url = f"redis+cluster://127.0.0.1:{free_port()}?socket_connect_timeout=0.5"
    with pytest.raises(NotPerformedError):
        RedisClusterStore(url)


def test_a_dead_shard_fails_only_its_own_events(tmp_path: Path) -> None:
    """Without full coverage required, the other shards keep serving their events."""
    nodes = start_cluster(tmp_path, options=("--cluster-require-full-coverage", "no"))
    try:
        url = f"redis+cluster://127.0.0.1:{nodes[0].port}?socket_connect_timeout=0.5"
        store = RedisClusterStore(url)
        managers = {}
        for i in range(30):
            event = f"show-{i}"
            shard = cluster_client(store).get_node_from_key(event_keys(event)[0]).port
            if shard not in managers:
                managers[shard] = SeatManager([1], store=store, event=event)
        victim = nodes[-1]
        victim.kill()
        for port, manager in managers.items():
            if port == victim.port:
                with pytest.raises(NotPerformedError):
                    manager.lock_seat(1, "ann")
            else:
                assert manager.lock_seat(1, "ann")
        store.close()
    finally:
        for node in nodes:
            node.stop()
