"""Fixtures shared by the store tests and the conformance suite."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .redis_servers import start_cluster


@pytest.fixture(scope="session")
def redis_cluster_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A 3-master Redis Cluster of this test run's own: ``redis+cluster://`` one node."""
    nodes = start_cluster(Path(tmp_path_factory.mktemp("redis-cluster")))
    yield f"redis+cluster://127.0.0.1:{nodes[0].port}"
    for node in nodes:
        node.stop()


@pytest.fixture
def fine_switching() -> Iterator[None]:
    """Let threads switch often, so calls interleave as much as they can."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(before)
