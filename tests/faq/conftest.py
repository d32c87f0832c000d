"""Fixtures for the FAQ domain: the shipped catalogue, policy and a matcher (built once)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.services.faq.catalogue import Catalogue, load_shipped_catalogue
from bot.services.faq.matcher import Matcher
from bot.services.faq.policy import Policy, load_shipped_policy

HERE = Path(__file__).resolve().parent
# The shared examples live beside the repository; a copy is kept here so the tests
# also run where shared/ is absent. test_dev_copy_is_current keeps them equal.
SHARED_DEV = HERE.parents[2] / "shared" / "data" / "faq_dev.jsonl"
LOCAL_DEV = HERE / "fixtures" / "faq_dev.jsonl"


def read_dev() -> list[dict[str, Any]]:
    path = SHARED_DEV if SHARED_DEV.exists() else LOCAL_DEV
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return load_shipped_catalogue()


@pytest.fixture(scope="session")
def policy() -> Policy:
    return load_shipped_policy()


@pytest.fixture(scope="session")
def matcher(catalogue: Catalogue) -> Matcher:
    return Matcher(catalogue)
