"""The ``venue`` fixture: every conformance test runs once per store (the memory store
once per engine: its C operations and its pure Python).

Adding a store is one entry in :data:`VENUES` (its :class:`Venue` lives in ``support``,
importing its driver inside the class, never at module top).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterator

import pytest

from .support import MemoryVenue, PostgresVenue, RedisVenue, SQLiteVenue, Venue

VENUES: dict[str, Callable[[str], Venue]] = {
    "memory": MemoryVenue,  # its C engine: the default, built on CI
    "memory-python": functools.partial(MemoryVenue, engine="python"),
    "sqlite": SQLiteVenue,
    "redis": RedisVenue,
    "redis-cluster": RedisVenue,  # on the cluster of the redis_cluster_url fixture
    "postgres": PostgresVenue,
}
"""Store name → what opens a venue (one event) on it."""

PRIVATE = ["memory", "memory-python"]
"""The stores private to one process (and to one manager's ``MemoryStore``)."""

SHARED = [name for name in VENUES if name not in PRIVATE]
"""The stores other processes can open too: for ``parametrize("open_venue", SHARED,
indirect=True)``."""

SERVER_TIME = [name for name in SHARED if name != "sqlite"]
"""The stores that take time from their server, not from the caller."""


@pytest.fixture(params=list(VENUES))
def open_venue(request: pytest.FixtureRequest) -> Iterator[Callable[[], Venue]]:
    """Opens fresh venues (a new event each) on one store; closes them at teardown."""
    make: Callable[[str], Venue] = VENUES[request.param]
    if request.param == "redis-cluster":
        make = functools.partial(RedisVenue, url=request.getfixturevalue("redis_cluster_url"))
    venues: list[Venue] = []

    def open_() -> Venue:
        venue = make(f"test-{uuid.uuid4().hex}")
        venues.append(venue)
        return venue

    yield open_
    for venue in venues:
        venue.close()


@pytest.fixture
def venue(open_venue: Callable[[], Venue]) -> Venue:
    """One event on one store, private to this test."""
    return open_venue()
