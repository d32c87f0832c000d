"""Rewrite the initial migration from the models (only while nothing is deployed).

python -m storage.migrations.regenerate
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from alembic import command

from storage.db import alembic_config

VERSIONS = Path(__file__).parent / "versions"


def main() -> None:
    for old in VERSIONS.glob("0001_*.py"):
        old.unlink()
    with tempfile.TemporaryDirectory() as folder:
        config = alembic_config(f"sqlite+aiosqlite:///{folder}/empty.db")
        command.revision(config, message="initial schema", autogenerate=True, rev_id="0001")
    subprocess.run([sys.executable, "-m", "ruff", "format", "-q", str(VERSIONS)], check=False)
    subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--fix", "-q", "--unsafe-fixes", str(VERSIONS)],
        check=False,
    )


if __name__ == "__main__":
    main()
