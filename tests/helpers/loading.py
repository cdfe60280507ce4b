"""A Python file run as a module by its path (scripts/, source/<edition>/, tests/files/), sys.path untouched."""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

from helpers.paths import FILES


def load_module(path: Path, name: str | None = None, monkeypatch=None) -> types.ModuleType:
    """The file `path` executed as a fresh module `name` (default: the file's stem), registered in
    sys.modules under that name as an import registers it (a dataclass of the file needs that):
    until `monkeypatch` is undone when one is given, else for the session."""
    spec = importlib.util.spec_from_file_location(name or Path(path).stem, path)
    module = importlib.util.module_from_spec(spec)
    if monkeypatch is not None:
        monkeypatch.setitem(sys.modules, spec.name, module)
    else:
        sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def corpus_module(corpus: str, name: str = "build") -> types.ModuleType:
    """tests/files/<corpus>/<name>.py as the module <corpus>_<name> (the corpus builders, build.py,
    and the red team's helpers)."""
    return load_module(FILES / corpus / f"{name}.py", f"{corpus}_{name}")
