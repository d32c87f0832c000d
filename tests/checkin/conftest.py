"""Check-in tests use the end-to-end fixtures too."""

from tests.e2e.conftest import *  # noqa: F403
