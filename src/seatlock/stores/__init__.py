"""Stores: where seat state lives, chosen by URL scheme.

Only the chosen store's module (and its driver) is imported.
"""

from __future__ import annotations

import importlib
from urllib.parse import urlsplit

from ..errors import UnknownStoreError
from .base import EventStore, Store

STORES: dict[str, str] = {
    "memory": "seatlock.stores.memory:MemoryStore",
    "sqlite": "seatlock.stores.sqlite:SQLiteStore",
    "postgresql": "seatlock.stores.postgres:PostgresStore",
    "postgres": "seatlock.stores.postgres:PostgresStore",
    "redis": "seatlock.stores.redis:RedisStore",
    "redis+cluster": "seatlock.stores.redis_cluster:RedisClusterStore",
}
"""URL scheme → ``module:class`` of the store that serves it."""


def open_store(url: str) -> Store:
    """Open the store that ``url`` names, e.g. ``memory://``.

    Raises:
        UnknownStoreError: no store serves the URL's scheme (the known ones are listed).
    """
    if not isinstance(url, str):
        raise TypeError(f"store URL must be a str, not {type(url).__name__}: {url!r}")
    scheme = urlsplit(url).scheme
    target = STORES.get(scheme)
    if target is None:
        known = ", ".join(f"{s}://" for s in STORES)
        raise UnknownStoreError(f"No store serves {url!r}: the known schemes are {known}")
    module_name, _, class_name = target.partition(":")
    store_class: type[Store] = getattr(importlib.import_module(module_name), class_name)
    return store_class.from_url(url)


__all__ = ["STORES", "EventStore", "Store", "open_store"]
