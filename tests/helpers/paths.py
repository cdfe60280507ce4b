"""The course's folders as the tests see them: the one place that derives them from this file."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
"""tests/."""
ROOT = TESTS.parent
"""The repository (course) root."""
SHARED_DATA = ROOT.parent / "shared" / "data" / "fashion-mnist"
"""The official Fashion-MNIST files shared beside the repository, when present."""
FILES = TESTS / "files"
"""tests/files/: the corpora and fixtures the tests read."""
IMPLS = FILES / "impls"
"""The first unit's corpus of broken and correct implementations (tests/files/impls)."""
EXAMPLES = ROOT / "examples" / "submitted"
"""nbgrader's submitted/ folder of the bundled example class."""
