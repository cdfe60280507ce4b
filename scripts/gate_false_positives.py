"""Measure the static gate's false positives on public implementations kept outside the repository.

Third-party code is never committed: ``tests/files/impls/public/SOURCES.json`` lists where each
implementation comes from (repository, paths, commit), and this script scans a folder of
``<name>.py`` excerpts made from those sources, as the grader reads a notebook (IPython's
transform, then ``submissions.reach.scan``). It prints every violation and exits 1 if any.

Usage: python scripts/gate_false_positives.py FOLDER
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from autograder.submissions import notebook, reach

SOURCES = (
    Path(__file__).resolve().parents[1] / "tests" / "files" / "impls" / "public" / "SOURCES.json"
)


def main(argv: list[str]) -> int:
    """Scan FOLDER's excerpts of every source; print the flags and the counts."""
    if len(argv) != 1 or not Path(argv[0]).is_dir():
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    folder = Path(argv[0])
    sources = sorted(k for k in json.loads(SOURCES.read_text()) if k != "_doc")
    missing = [name for name in sources if not (folder / f"{name}.py").exists()]
    if missing:
        print(f"{folder}: no excerpt for {', '.join(missing)}", file=sys.stderr)
        return 2
    flagged = [
        f"{name}.py:{v.line} [{v.rule}] {v.code}"
        for name in sources
        for v in reach.scan(notebook.python_source((folder / f"{name}.py").read_text()))
    ]
    print("\n".join(flagged) if flagged else "no violation")
    files = {name for line in flagged for name in [line.split(".py:")[0]]}
    print(f"{len(sources)} public implementations, {len(files)} flagged")
    return 1 if flagged else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
