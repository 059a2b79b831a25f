"""The Redis Cluster store (``redis+cluster://host:port``): events spread over shards.

The same store as :mod:`seatlock.stores.redis` (same scripts, key layout, durability
notes and failure mapping); only the client differs: a ``redis.cluster.RedisCluster``
that discovers the cluster from the node the URL names. All keys of one event share one
hash slot, so each event lives on one shard and every operation stays one script on one
server; different events land on different shards, which is how the store scales.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from .redis import RedisStore, _driver

if TYPE_CHECKING:
    from redis.cluster import RedisCluster


class RedisClusterStore(RedisStore):
    """Events in a Redis Cluster: ``redis+cluster://host:port`` (any one node).

    Raises:
        ImportError: redis-py is not installed.
        NotPerformedError: the cluster could not be reached.
    """

    @classmethod
    def _connect(cls, url: str) -> RedisCluster:
        """A RedisCluster client; it retries only errors that surely did not run a script."""
        parts = urlsplit(url)
        if parts.scheme != "redis+cluster" or not parts.hostname or parts.path not in ("", "/"):
            raise ValueError(f"a Redis Cluster store URL is redis+cluster://host:port, not {url!r}")
        driver = _driver()
        return driver.cluster.from_url(parts._replace(scheme="redis").geturl(), **driver.options)
