"""The red-team corpus graded in one batch beside honest students, as root and as an ordinary user.

Every attack in tests/files/redteam/build.py is graded by the CLI (a fresh grader process whose
environment holds a secret) with the honest example students. Each attack must end with its
expected status and no unearned points; canary files outside scratch must be neither read into
any output nor changed; no connection or datagram may reach the listener on 127.0.0.1; no
process may outlive the run; honest students keep their marks. The batch runs as the invoking
user, and, when that is root, again as the unprivileged user ``nobody`` (uid 65534).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from helpers.loading import corpus_module
from helpers.paths import EXAMPLES
from helpers.paths import ROOT as REPO

from autograder.units.softmax_regression import unit as softmax_unit

NOBODY = 65534
LIMITS_ENV = {"SOFTMAX_CALL_SECONDS": "3", "SOFTMAX_TRAIN_SECONDS": "90",
              "SOFTMAX_SUBMISSION_SECONDS": "150"}  # fmt: skip


_runas = corpus_module("redteam", "runas")  # nobody, the listener (build.py: the corpus)
Listener, as_nobody = _runas.Listener, _runas.as_nobody


def _tree_state(folder: Path) -> dict:
    out = {}
    for p in sorted(folder.rglob("*")):
        st = p.lstat()
        data = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else ""
        out[str(p)] = (data, st.st_mode, st.st_mtime_ns, st.st_uid)
    return out


def _texts(folder: Path) -> str:
    return "\n".join(
        p.read_text(errors="replace")
        for p in folder.rglob("*")
        if p.is_file() and p.suffix in (".json", ".md", ".html", ".csv")
    )


def _sleepers() -> list[int]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmd = proc.info.get("cmdline") or []
        if any("7777" in part for part in cmd) and "sleep" in " ".join(cmd):
            found.append(proc.pid)
    return found


def grade_corpus(base: Path, user: str) -> dict:
    """Build the corpus in `base`, grade it with the CLI as `user`; return what the test checks."""
    base.mkdir(parents=True)
    os.chmod(base, 0o755)
    course = base / "course"
    for part in ("autograder", "release"):
        shutil.copytree(REPO / part, course / part, ignore=shutil.ignore_patterns("__pycache__"))
    canary_dir = base / "canary"
    canary_dir.mkdir()
    secret = "CANARY-" + secrets.token_hex(12)
    canary = canary_dir / "secret.txt"
    canary.write_text(f"{secret}\n")
    subs, out, tmpdir = base / "submitted", base / "out", base / "t"
    subs.mkdir()
    tmpdir.mkdir()  # the grader's TMPDIR: scratch and multiprocessing's folders, empty afterwards
    shutil.copytree(EXAMPLES / "alice_full", subs / "alice_copy")
    shutil.copytree(EXAMPLES / "carol_blank", subs / "carol_copy")
    other = subs / "alice_copy" / "softmax_regression" / "softmax_regression.ipynb"
    nb = json.loads(other.read_text())
    nb["cells"][0]["source"] = f"OTHER-STUDENT-{secret}\n" + "".join(nb["cells"][0]["source"])
    other.write_text(json.dumps(nb))
    listener = Listener()
    data_root = os.environ.get("FASHION_MNIST_ROOT", str(REPO.parent / "shared/data/fashion-mnist"))
    build = corpus_module("redteam")
    target = build.Target(
        canary=str(canary), canary_dir=str(canary_dir),
        answer_key=str(course / "autograder" / "units" / "softmax_regression" / "answer_key.json"),
        checks=str(course / "autograder" / "units" / "softmax_regression" / "checks" / "common.py"), other_student=str(other),
        data_root=data_root, port=listener.port, secret_env="SOFTMAX_TEST_SECRET",
    )  # fmt: skip
    cases = build.build(subs, REPO, target)
    out.mkdir()
    if user == "nobody":
        for p in [base, *base.rglob("*")]:
            os.chown(p, NOBODY, NOBODY, follow_symlinks=False)
    before = _tree_state(canary_dir)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOFTMAX_")}
    env.update(LIMITS_ENV, SOFTMAX_TEST_SECRET=secret, SOFTMAX_COURSE_ROOT=str(course),
               PYTHONPATH=str(course), FASHION_MNIST_ROOT=data_root, HOME=str(base),
               TMPDIR=str(tmpdir))  # fmt: skip
    cmd = [sys.executable, "-m", "autograder", "grade", str(subs), "--out", str(out),
           "--workers", "2", "--device", "cpu", "--no-report"]  # fmt: skip
    if user == "nobody":
        keep = Path(os.environ.get("TMPDIR", "/tmp")) / f"softmax-ns-{secrets.token_hex(4)}"
        keep.mkdir()
        try:
            needed = [Path(sys.executable), Path(sys.prefix), Path(sys.base_prefix), base,
                      Path(data_root)]  # fmt: skip
            cmd = as_nobody(cmd, needed, keep)
            proc = subprocess.run(
                cmd, cwd=course, env=env, capture_output=True, text=True, timeout=1200
            )
        finally:
            shutil.rmtree(keep, ignore_errors=True)
    else:
        proc = subprocess.run(
            cmd, cwd=course, env=env, capture_output=True, text=True, timeout=1200
        )
    listener.close()
    assert proc.returncode == 0, proc.stderr[-4000:]
    report = subprocess.run([sys.executable, "-m", "autograder", "report", str(out)], cwd=course,
                            env=env, capture_output=True, text=True, timeout=600)  # fmt: skip
    results = {}
    for path in out.glob("*/results.json"):
        data = json.loads(path.read_text())
        results[data["extra_data"]["student"]] = data["extra_data"]
    return {
        "cases": cases, "results": results, "secret": secret, "canary_dir": canary_dir,
        "before": before, "after": _tree_state(canary_dir), "listener": listener, "out": out,
        "texts": _texts(out) + proc.stdout + proc.stderr + report.stdout + report.stderr,
        "sleepers": _sleepers(), "course": course, "stderr": proc.stderr,
        "left_in_tmpdir": sorted(p.name for p in tmpdir.iterdir()),
    }  # fmt: skip


USERS = ["invoker", "nobody"]


@pytest.fixture(scope="module", params=USERS)
def batch(request, tmp_path_factory):
    if request.param == "nobody" and os.geteuid() != 0:
        pytest.skip("switching to uid 65534 needs root; as a non-root user the 'invoker' run "
                    "already grades as an ordinary user")  # fmt: skip
    base = Path("/tmp") / f"softmax-redteam-{secrets.token_hex(6)}"
    try:
        yield grade_corpus(base, request.param)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _by_function(result, fn):
    return [c for c in result["checks"] if c["check_id"].split(".")[0] == fn]


@pytest.mark.slow
def test_every_student_graded_and_confined(batch):
    cases, results = batch["cases"], batch["results"]
    assert set(results) == set(cases) | {"alice_copy", "carol_copy"}, batch["stderr"][-3000:]
    for student, res in results.items():
        conf = res["info"].get("confinement") or {}
        if not res["info"].get("worker_starts"):
            # Never run (the static gate, the notebook caps, only stubs): no function check earned.
            earned = [c["check_id"] for c in res["checks"]
                      if c["score"] and not c["check_id"].startswith("quiz.")]  # fmt: skip
            assert not earned, (student, earned)
            continue
        assert conf.get("confined") is True and conf.get("landlock_abi", 0) >= 1, (student, conf)


@pytest.mark.slow
def test_honest_students_keep_their_marks(batch):
    alice, carol = batch["results"]["alice_copy"], batch["results"]["carol_copy"]
    scores = {c["check_id"]: c["status"] for c in alice["checks"] if c["status"] != "passed"}
    assert sum(c["score"] for c in alice["checks"]) == 44, scores
    assert sum(c["score"] for c in carol["checks"]) == 0


@pytest.mark.slow
def test_each_attack_ends_as_expected(batch):
    failures = []
    for name, attack in batch["cases"].items():
        res = batch["results"][name]
        softmax = {c["status"] for c in _by_function(res, "softmax")}
        if not softmax <= set(attack.softmax):
            failures.append(f"{name}: softmax statuses {sorted(softmax)}, allowed {attack.softmax}: "
                            + " | ".join(c["message"][:200] for c in _by_function(res, "softmax")))  # fmt: skip
        for cid in attack.train:
            check = next(c for c in res["checks"] if c["check_id"] == cid)
            if check["status"] == "passed":
                failures.append(f"{name}: {cid} passed")
        honest = sum(
            c["score"]
            for c in res["checks"]
            if c["check_id"].split(".")[0] in ("cross_entropy", "accuracy")
        )
        if attack.honest_kept and honest != 14:
            failures.append(f"{name}: the honest cross_entropy and accuracy earned {honest}/14")
        if attack.category != "training" and sum(
            c["score"] for c in _by_function(res, "train_ch3")
        ):
            failures.append(f"{name}: train_ch3 points for a blank train_ch3")
        total = sum(c["score"] for c in res["checks"])
        if attack.max_points is not None and total > attack.max_points:
            failures.append(f"{name}: {total} points, at most {attack.max_points} earned")
        if attack.min_points is not None and total < attack.min_points:
            failures.append(f"{name}: {total} points, at least {attack.min_points} kept")
        soft_points = sum(c["score"] for c in _by_function(res, "softmax"))
        if attack.softmax == ("forbidden",) and soft_points:
            failures.append(f"{name}: {soft_points} softmax points")
        for c in res["checks"]:
            if not c["message"] and c["status"] != "passed":
                failures.append(f"{name}: {c['check_id']} {c['status']} without a message")
            if len(c["message"]) > 3000:
                failures.append(
                    f"{name}: {c['check_id']} message of {len(c['message'])} characters"
                )
    assert not failures, "\n".join(failures)


@pytest.mark.slow
def test_in_place_is_judged_by_the_grader(batch):
    """Replacing the worker's helpers needs sys.modules: the static gate refuses the notebook
    before it runs (in-place results are judged by the grader: tests/units checks)."""
    res = batch["results"]["patch_harness_in_place"]
    code = [c for c in res["checks"] if not c["check_id"].startswith("quiz.")]  # quiz: blank
    assert {c["status"] for c in code} == {"forbidden"}
    assert all("sys.modules" in c["message"] for c in code)


@pytest.mark.slow
def test_hidden_test_images_are_not_in_a_worker(batch):
    """Searching the worker's memory with gc is refused before the code runs (the hidden half
    is never in a worker: tests/sandbox/test_forkserver.py scans a worker's memory directly)."""
    res = batch["results"]["hidden_test_in_memory"]
    code = [c for c in res["checks"] if not c["check_id"].startswith("quiz.")]  # quiz: blank
    assert {c["status"] for c in code} == {"forbidden"}
    seen = " ".join(c["message"] for c in _by_function(res, "softmax"))
    assert "import gc" in seen and "LEAK" not in seen, seen


@pytest.mark.slow
def test_no_secret_reaches_any_output(batch):
    texts = batch["texts"]
    assert batch["secret"] not in texts
    key = (
        batch["course"] / "autograder" / "units" / "softmax_regression" / "answer_key.json"
    ).read_text()
    assert key.strip()[:80] not in texts
    assert "def softmax_shape(caller)" not in texts
    from autograder.units.softmax_regression import references

    assert references.cross_entropy.__doc__ not in texts  # the grader's reference solution


@pytest.mark.slow
def test_nothing_outside_scratch_changed(batch):
    assert batch["before"] == batch["after"]
    assert not Path("/dev/shm/softmax-redteam").exists()


@pytest.mark.slow
def test_no_connection_reached_the_listener(batch):
    assert batch["listener"].connections == 0
    assert batch["listener"].datagrams == 0


@pytest.mark.slow
def test_no_process_outlives_the_grader(batch):
    assert batch["sleepers"] == []


@pytest.mark.slow
def test_no_folder_is_left_in_the_grader_tmpdir(batch):
    """Scratch folders (deep, locked, linked ones included) and multiprocessing's are removed."""
    assert batch["left_in_tmpdir"] == []


@pytest.mark.slow
def test_no_hidden_test_file_is_in_a_worker_memory(batch):
    """A student scanning its own memory finds neither the test files' headers nor their data."""
    seen = " ".join(
        c["message"] for c in _by_function(batch["results"]["proc_mem_hidden_labels"], "softmax")
    )
    assert "'labels header': 0" in seen and "'gzip test files': 0" in seen, seen


def test_no_child_outlives_its_worker_when_processes_are_allowed(tmp_path):
    """With Limits.processes > 0 a child may start, but it cannot leave the worker's process
    group (setsid and setpgid are refused), and the group dies with the worker."""
    import dataclasses

    from autograder import config
    from autograder.grading import batch

    release = json.loads((config.RELEASE_DIR / softmax_unit.MAIN_NOTEBOOK).read_text())
    for cell in release["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "softmax":
            cell["source"] = (
                "import subprocess\n\n\ndef softmax(X):\n"
                "    subprocess.Popen(['sleep', '7777'])\n"
                "    subprocess.Popen(['sleep', '7777'], start_new_session=True)\n"
                "    return X\n"
            )
    path = tmp_path / "subs" / "leaver" / config.ASSIGNMENT / softmax_unit.MAIN_NOTEBOOK
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(release))
    limits = dataclasses.replace(config.LIMITS, processes=1, call_seconds=5, submission_seconds=120)
    results = batch.grade_all([tmp_path / "subs"], tmp_path / "out", workers=1, device="cpu",
                              limits=limits, progress=False)  # fmt: skip
    messages = " ".join(c.message for r in results for c in r.checks if c.function == "softmax")
    assert "Operation not permitted" in messages or "refused" in messages, messages
    assert _sleepers() == []
