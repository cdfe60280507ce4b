"""The README's nbgrader exchange block (after ``<!-- exchange-commands -->``), read as commands."""

from __future__ import annotations

from helpers.paths import ROOT


def readme_commands() -> list[tuple[str, str]]:
    """(role, command line) of the README's exchange block, in order."""
    text = (ROOT / "README.md").read_text()
    block = text.split("<!-- exchange-commands -->", 1)[1].split("```bash\n", 1)[1]
    block = block.split("```", 1)[0]
    role, out = None, []
    for line in block.splitlines():
        if line.startswith("# "):
            role = line[2:].split(",")[0].strip()
        elif line.strip():
            out.append((role, line.strip()))
    return out
