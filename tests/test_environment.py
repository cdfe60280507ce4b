"""environment.yml pins the same versions as requirements.lock, and the lock covers requirements.in."""

import re

from conftest import ROOT


def pins(text):
    return dict(re.findall(r"^\s*-?\s*([A-Za-z0-9_.-]+)==([^\s#]+)", text, flags=re.M))


def test_environment_yml_matches_lock():
    env = pins((ROOT / "environment.yml").read_text())
    lock = pins((ROOT / "requirements.lock").read_text())
    assert env, "environment.yml pins nothing"
    mismatched = {k: (v, lock.get(k)) for k, v in env.items() if lock.get(k) != v}
    assert not mismatched, f"environment.yml and requirements.lock disagree: {mismatched}"


def test_lock_covers_every_top_level_requirement():
    lock = {k.lower() for k in pins((ROOT / "requirements.lock").read_text())}
    wanted = re.findall(r"^([A-Za-z0-9_.-]+)", (ROOT / "requirements.in").read_text(), flags=re.M)
    assert {w.lower() for w in wanted} <= lock
