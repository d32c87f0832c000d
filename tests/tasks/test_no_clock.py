"""The domain code reads time only from the ``now`` it is given (the injectable clock)."""

from __future__ import annotations

import re
from pathlib import Path

SOURCES = sorted((Path(__file__).parents[2] / "bot" / "services" / "tasks").glob("*.py"))
FORBIDDEN = re.compile(
    r"datetime\.now\(|datetime\.utcnow\(|date\.today\(|\.today\(\)|time\.time\(|time\.monotonic\("
)


def test_sources_found() -> None:
    assert {p.name for p in SOURCES} >= {
        "deadline.py",
        "format.py",
        "lifecycle.py",
        "assign_parse.py",
    }


def test_no_module_reads_the_system_clock() -> None:
    offenders = [
        f"{path.name}:{number}: {line.strip()}"
        for path in SOURCES
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if FORBIDDEN.search(line)
    ]
    assert offenders == []
