"""The reference runs' cache (autograder/checks/runcache.py): a run computed by one grading process
is read by the next, bit for bit; anything it depends on changes its key; a bad file or folder
costs only the time it would save."""

from __future__ import annotations

import sys
import types

import pytest
import torch

from autograder.checks import runcache

PACKAGE = "autograder.units.softmax_regression"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(runcache.CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache" / "references"


def counting(run):
    calls = []

    def compute():
        calls.append(1)
        return run

    return compute, calls


def test_a_later_process_reads_the_real_reference_run_bit_for_bit(cache):
    """The unit's own run (snapshots keyed by step, lists of tensors) comes back equal."""
    from autograder.units.softmax_regression import data, references

    fresh = references._sgd_run("end_to_end")
    compute, calls = counting(fresh)
    runcache.cached(PACKAGE, "end_to_end", compute, data.identity())
    read = runcache.cached(PACKAGE, "end_to_end", lambda: pytest.fail("computed again"),
                           data.identity())  # fmt: skip
    assert calls == [1] and len(list(cache.glob("end_to_end-*.pt"))) == 1
    assert torch.equal(read["W"], fresh["W"]) and torch.equal(read["b"], fresh["b"])
    assert read["snapshots"].keys() == fresh["snapshots"].keys() and fresh["snapshots"]
    for step, params in fresh["snapshots"].items():
        assert all(torch.equal(a, b) for a, b in zip(read["snapshots"][step], params))


def test_sgd_run_goes_through_the_cache(cache, monkeypatch):
    """references.sgd_run stores its run (the fork server's next process reads it)."""
    from autograder.units.softmax_regression import references

    monkeypatch.setattr(references, "_runs", {})
    run = references.sgd_run("end_to_end")
    (path,) = cache.glob("end_to_end-*.pt")
    assert torch.equal(torch.load(path, weights_only=True)["W"], run["W"])


def test_the_key_changes_with_mode_data_versions_and_every_source_file(tmp_path, monkeypatch):
    """Broken variants it rejects: a key that ignores the mode, the data's identity, torch's
    version, or a change to one source file of the unit."""
    package = tmp_path / "fakeunits" / "unit_x"
    (package / "checks").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "checks" / "train.py").write_text("LR = 0.1\n")
    module = types.ModuleType("fakeunits.unit_x")
    module.__file__ = str(package / "__init__.py")  # all key() reads of the package
    monkeypatch.setitem(sys.modules, "fakeunits.unit_x", module)
    base = runcache.key("fakeunits.unit_x", "m", ("a", 1))
    assert runcache.key("fakeunits.unit_x", "m", ("a", 1)) == base
    assert runcache.key("fakeunits.unit_x", "other", ("a", 1)) != base
    assert runcache.key("fakeunits.unit_x", "m", ("a", 2)) != base
    with monkeypatch.context() as patched:
        patched.setattr(torch, "__version__", "0.0.0")
        assert runcache.key("fakeunits.unit_x", "m", ("a", 1)) != base
    assert runcache.key("fakeunits.unit_x", "m", ("a", 1)) == base
    (package / "checks" / "train.py").write_text("LR = 0.01\n")
    assert runcache.key("fakeunits.unit_x", "m", ("a", 1)) != base


def test_a_bad_file_is_computed_again_and_replaced(cache):
    run = {"W": torch.arange(3.0)}
    compute, calls = counting(run)
    runcache.cached(PACKAGE, "m", compute, ("d",))
    (path,) = cache.glob("m-*.pt")
    path.write_bytes(b"not a tensor file")
    again = runcache.cached(PACKAGE, "m", compute, ("d",))
    assert calls == [1, 1] and torch.equal(again["W"], run["W"])
    assert torch.equal(torch.load(path, weights_only=True)["W"], run["W"])
    assert not list(cache.glob("*.partial"))


def test_no_folder_no_identity_or_turned_off_means_computed_each_time(tmp_path, monkeypatch):
    run = {"W": torch.ones(2)}
    compute, calls = counting(run)
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv(runcache.CACHE_ENV, str(tmp_path / "a-file"))  # cannot hold a folder
    assert runcache.cached(PACKAGE, "m", compute, ("d",)) is run
    assert runcache.cached(PACKAGE, "m", compute, ("d",)) is run
    monkeypatch.setenv(runcache.CACHE_ENV, str(tmp_path / "cache"))
    runcache.cached(PACKAGE, "m", compute, None)  # data read through the helper: not cached
    monkeypatch.setenv(runcache.CACHE_ENV, "0")
    runcache.cached(PACKAGE, "m", compute, ("d",))
    assert calls == [1, 1, 1, 1] and not (tmp_path / "cache").exists()


def test_the_default_folder_is_the_user_cache(monkeypatch, tmp_path):
    monkeypatch.delenv(runcache.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert runcache.cache_dir() == tmp_path / "softmax-autograder" / "references"
