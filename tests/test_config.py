"""The grading policy in autograder/config.py: consistent with the checks and with the README."""

import re

from helpers.paths import ROOT

from autograder import config, units
from autograder.units.softmax_regression import checks
from autograder.units.softmax_regression import unit as softmax_unit


def totals():
    """function -> its points, over every unit of the course (the README has a table for each)."""
    out = {}
    for unit in units.every():
        for cid, points in unit.points.items():
            out[cid.split(".")[0]] = out.get(cid.split(".")[0], 0) + points
    return out


def test_every_check_has_points_and_every_point_a_check():
    assert [cid for cid, _ in checks.CHECKS] and {cid for cid, _ in checks.CHECKS} == set(
        softmax_unit.POINTS
    )
    assert all(p > 0 for p in softmax_unit.POINTS.values())


def listed_points(body):
    """[1, 2, ...] from 'shape 1, values 2, stability (1e3, 1e4) 2': each item's trailing number."""
    items = re.split(r",\s*(?![^()]*\))", body)
    return [int(re.search(r"(\d+)\s*$", item).group(1)) for item in items]


def test_readme_policy_table_matches_the_config():
    readme = (ROOT / "README.md").read_text()
    rows = {
        f: (int(t), body)
        for f, t, body in re.findall(r"^\| `(\w+)` \((\d+)\) \| (.+) \|$", readme, flags=re.M)
    }
    assert set(rows) == set(totals()), rows.keys()
    for function, (total, body) in rows.items():
        assert total == totals()[function], function
        assert sum(listed_points(body)) == total, (
            f"{function}: the README lists {listed_points(body)}"
        )


def test_accuracy_tiers_are_ordered():
    thresholds = [t for t, _ in config.ACCURACY_TIERS]
    assert thresholds == sorted(thresholds, reverse=True)
    assert config.ACCURACY_TIERS[0][1] == 1.0
