"""Write tests/durations.json (seconds per test) from a JUnit XML report of a whole-suite run.

Usage: bash scripts/test.sh --junitxml=/tmp/suite.xml && python scripts/test_durations.py /tmp/suite.xml

Only the order in which pytest-xdist hands out work reads the file (tests/helpers/xdist_groups.py):
a stale or missing one makes no test pass or fail, it only balances the two cores less well.
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "durations.json"
KEEP_SECONDS = 0.5
"""Tests quicker than this are left out (the order treats them as quick anyway)."""


def nodeid(case: ET.Element) -> str:
    """A JUnit testcase's pytest node id: tests.course.test_x + test_y[p] -> tests/course/test_x.py::test_y[p]."""
    classname, name = case.get("classname", ""), case.get("name", "")
    parts = classname.split(".")
    # classname is the module's dotted path, then any test classes (which start with a capital)
    split = next((i for i, part in enumerate(parts) if part[:1].isupper()), len(parts))
    module = "/".join(parts[:split]) + ".py"
    return "::".join([module, *parts[split:], name.split("@")[0]])


def durations(report: Path) -> dict[str, float]:
    """nodeid -> seconds (setup, call and teardown together) of the tests in `report`."""
    out: dict[str, float] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        seconds = float(case.get("time", 0) or 0)
        if seconds >= KEEP_SECONDS:
            out[nodeid(case)] = round(seconds, 1)
    return dict(sorted(out.items()))


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    found = durations(Path(argv[0]))
    doc = {"generated_from": f"scripts/test_durations.py {Path(argv[0]).name}", "seconds": found}
    OUT.write_text(json.dumps(doc, indent=0, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{OUT.relative_to(ROOT)}: {len(found)} tests of {KEEP_SECONDS} s or more, "
          f"{sum(found.values()):.0f} s in all")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
