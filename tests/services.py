"""Where the test servers are, and what a test does when one is missing.

On a developer's machine without PostgreSQL or Redis those tests skip with the reason;
under CI (``CI=true``) they fail instead, so a missing server never passes silently. The
memory store's C engine is treated the same way: CI builds it, so its tests must run there.
"""

from __future__ import annotations

import os
import socket
from typing import NoReturn

import pytest

POSTGRES_URL = os.environ.get("SEATLOCK_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("SEATLOCK_TEST_REDIS", "redis://127.0.0.1:6379/0")


def unavailable(reason: str) -> NoReturn:
    """Skip the test, or fail it under ``CI=true``."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: tests that need it must not be skipped)")
    pytest.skip(reason)


def need_memory_engine(engine: str) -> None:
    """Go on if the memory store has ``engine`` here; else skip, or fail under ``CI=true``."""
    from seatlock.stores.memory import ENGINES

    if engine not in ENGINES:
        unavailable(
            f"the memory store's {engine!r} engine is not built here (it has {ENGINES}): "
            "build seatlock.stores._memory_core with a C compiler (make test, or pip install -e .)"
        )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
