"""Unit tests of the worker's class-tampering guard (Python raises no audit event for it)."""

from __future__ import annotations

from autograder import worker


def test_tampering_with_a_guarded_class_is_found_and_undone():
    class Guarded:
        def __eq__(self, other):
            return False

        __hash__ = object.__hash__

    original = Guarded.__eq__
    snapshot = worker._snapshot_classes([Guarded])
    assert worker._tampered(snapshot) == []
    Guarded.__eq__ = lambda a, b: True
    Guarded.added = 1
    changed = worker._tampered(snapshot)
    assert any(c.endswith("Guarded.__eq__") for c in changed)
    assert any(c.endswith("Guarded.added") for c in changed)
    assert Guarded.__eq__ is original and not hasattr(Guarded, "added")
    assert worker._tampered(snapshot) == []


def test_torch_tensor_is_guarded():
    import torch

    assert torch.Tensor in worker._guarded_classes()


def test_starting_processes_follows_the_processes_limit(tmp_path):
    """Limits.processes = 0 refuses subprocesses; a positive value allows them (own interpreter)."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(
        """
        import subprocess, sys
        from autograder import sandbox
        sandbox.install_audit_hook(sys.argv[1], allow_processes=sys.argv[2] == "1")
        try:
            subprocess.run(["true"])
            print("started")
        except PermissionError as err:
            print(err)
        """
    )
    for allow, expected in (("0", "starting a process is not allowed"), ("1", "started")):
        out = subprocess.run(
            [sys.executable, "-c", script, str(tmp_path), allow], capture_output=True, text=True
        )
        assert expected in out.stdout, out.stdout + out.stderr
