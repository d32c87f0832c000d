"""The scale tests need a real PostgreSQL and Redis: without either the whole folder is skipped."""

from __future__ import annotations

import pytest

from tests.scale.cluster import PG_HOST, PG_PORT, REDIS_HOST, REDIS_PORT, answers


@pytest.fixture(autouse=True)
def _postgres_and_redis() -> None:
    missing = [
        f"{name} does not answer on {host}:{port}"
        for name, host, port in (
            ("PostgreSQL", PG_HOST, PG_PORT),
            ("Redis", REDIS_HOST, REDIS_PORT),
        )
        if not answers(host, port)
    ]
    if missing:
        pytest.skip("scale tests need PostgreSQL and Redis: " + "; ".join(missing))
