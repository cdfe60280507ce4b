"""Whether this machine can confine the Jupyter kernel, as a pytest skip marker."""

from __future__ import annotations

import pytest

from autograder import sandbox
from autograder.sandbox import landlock


def kernel_unconfinable() -> str | None:
    """Why a confined kernel cannot run here (None: it can)."""
    found = sandbox.probe()
    if found["missing"]:
        return "; ".join(found["missing"])
    if landlock.effective_abi() < sandbox.KERNEL_LANDLOCK_ABI:
        return f"Landlock ABI {landlock.effective_abi()} < {sandbox.KERNEL_LANDLOCK_ABI}"
    return None


needs_confinement = pytest.mark.skipif(
    kernel_unconfinable() is not None,
    reason=f"this machine cannot confine: {kernel_unconfinable()}",
)
