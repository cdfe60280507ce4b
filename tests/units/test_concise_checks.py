"""The concise unit's checks (autograder/units/softmax_regression_concise/) proven by the corpus in
tests/files/impls/concise: every check rejects a broken implementation with a message naming the
problem, differently written correct code and held-out public implementations of d2l's concise
chapter earn full marks (or lose exactly what the assignment asks differently), and the harness
(calls.py) records autograd, measures the trained net and leaves the student's objects as found.

The checks run in this process (an in-process caller of the unit, as the self-check's), within
points_in_effect(the unit's points): the unit is not yet registered in config.UNITS.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
import torch
from helpers.english import english_words
from helpers.paths import FILES

from autograder import config, i18n
from autograder.checks import loop
from autograder.checks.registry import points_in_effect
from autograder.units import Unit

UNIT = Unit("softmax_regression_concise")
REGISTRY = UNIT.registry
CALLS = UNIT.calls
IMPLS = FILES / "impls" / "concise"
BASE = IMPLS / "base.py"
EXPECTED = {
    k: v for k, v in json.loads((IMPLS / "EXPECTED.json").read_text()).items() if k != "_doc"
}
PUBLIC = {
    k: v
    for k, v in json.loads((IMPLS / "public" / "SOURCES.json").read_text()).items()
    if k != "_doc"
}
BROKEN = sorted(p.name for p in (IMPLS / "broken").glob("*.py"))
CORRECT = sorted(p.name for p in (IMPLS / "correct").glob("*.py"))
TRAINING = {c.id for c in REGISTRY if c.trains}
FUNCTION_CHECKS = [c for c in REGISTRY if not c.trains]


class InProcess(UNIT.caller.Caller):
    """The unit's Caller on a namespace dict of this process (the self-check's way)."""

    def __init__(self, namespace, data=None):
        super().__init__("cpu")
        self.namespace, self.data = namespace, data

    def call(self, fn, args, grad_wrt=(), cotangent=None, device=None):
        args = [a.clone() if hasattr(a, "clone") else a for a in args]
        return CALLS.execute_call(self.namespace, fn, args, grad_wrt, cotangent, device)

    def _train(self, mode):
        data = self.data or UNIT.data.batches("cpu")
        return CALLS.run_training(self.namespace, mode, data, "cpu")


def namespace(*paths: Path) -> dict:
    """base.py's correct code, then each corpus file's definitions over it."""
    ns: dict = {}
    for path in (BASE, *paths):
        exec(compile(path.read_text(), str(path), "exec"), ns)
    return ns


def run(path: Path | None, training: bool, lang: str = "en") -> dict:
    """{check id: CheckResult} of the unit's checks (the training ones too if `training`)."""
    caller = InProcess(namespace(*([path] if path else [])))
    chosen = list(REGISTRY) if training else FUNCTION_CHECKS
    with points_in_effect(REGISTRY.points), i18n.use(lang):
        return {c.id: c.run(caller) for c in chosen}


def assert_outcome(results: dict, fails: dict, label: str, status: str | None = None):
    fails = {cid: words for cid, words in fails.items() if cid in results}
    got = {cid for cid, r in results.items() if not r.passed}
    assert got == set(fails), f"{label}: failed {sorted(got)}, expected {sorted(fails)}"
    for cid, r in results.items():
        if cid in fails:
            assert r.score < r.max_score, f"{label} {cid}: full points for a failure"
            assert fails[cid] in r.message, f"{label} {cid}: {fails[cid]!r} not in {r.message!r}"
            assert status is None or r.status == status, f"{label} {cid}: status {r.status}"
        else:
            assert r.score == r.max_score == UNIT.points[cid], f"{label} {cid}: {r}"


def defines(path: Path, name: str) -> bool:
    tree = ast.parse(path.read_text())
    return any(
        (isinstance(n, ast.FunctionDef) and n.name == name)
        or (isinstance(n, ast.Assign) and any(getattr(t, "id", None) == name for t in n.targets))
        for n in tree.body
    )


# -- the unit's declarations ----------------------------------------------------------------
def test_the_unit_declares_what_the_machinery_reads():
    assert UNIT.max_points() == 40 and REGISTRY.max_points() == 40
    assert [c.id for c in REGISTRY] == list(UNIT.points)  # grading order = POINTS order
    functions = list(dict.fromkeys(c.function for c in REGISTRY))
    assert functions == list(UNIT.graded_functions)
    assert UNIT.columns == (*UNIT.graded_functions, "quiz")
    assert set(UNIT.forbidden_ops) <= set(UNIT.graded_functions)
    assert set(UNIT.forbidden_builtins) <= set(UNIT.graded_functions)
    assert set(UNIT.accuracy_checks) <= TRAINING
    assert set(UNIT.other_functions) <= set(UNIT.points)
    assert {"apply", "normal_", "constant_", "zeros_", "fill_"} <= UNIT.spec.SETUP_CALLS
    assert "train_manual" in UNIT.demo_calls and "print" in UNIT.demo_calls
    modes = {c.early_run for c in REGISTRY if c.early_run}
    assert modes == {"manual", "concise"} and set(UNIT.reference_runs) == {"manual_epoch"}
    assert (
        UNIT.data.batches
        is __import__("autograder.units.softmax_regression.data", fromlist=["batches"]).batches
    )


def test_corpus_is_complete():
    assert len(BROKEN) >= 30 and set(BROKEN) == set(EXPECTED)
    for group in ("net", "sce", "grad", "manual", "training"):
        assert len([f for f in CORRECT if f.startswith(group + "_")]) >= 2, group
    for sub, names in (("broken", BROKEN), ("correct", CORRECT), ("public", list(PUBLIC))):
        for name in names:
            path = IMPLS / sub / name
            assert ast.get_docstring(ast.parse(path.read_text())), name
            if defines(path, "net"):  # a trainer holds the parameters of the net it was built from
                assert defines(path, "trainer"), f"{name} redefines net but not trainer"
    for name, spec in EXPECTED.items():
        assert set(spec["fails"]) <= set(UNIT.points), name
        assert all(words.strip() for words in spec["fails"].values()), name
        if not spec.get("train"):
            assert not set(spec["fails"]) & TRAINING, f"{name}: training checks need 'train'"
    proven = set().union(*(spec["fails"] for spec in EXPECTED.values()))
    assert proven == set(UNIT.points), f"no mutant fails {sorted(set(UNIT.points) - proven)}"
    assert set(PUBLIC) == {p.name for p in (IMPLS / "public").glob("*.py")}


# -- function checks (fast) -----------------------------------------------------------------
def test_the_base_implementation_earns_full_marks_on_the_function_checks():
    assert_outcome(run(None, training=False), {}, "base.py")


@pytest.mark.parametrize("name", BROKEN)
def test_broken_code_fails_exactly_the_expected_function_checks(name):
    spec = EXPECTED[name]
    results = run(IMPLS / "broken" / name, training=False)
    assert_outcome(results, spec["fails"], name, spec.get("status"))


@pytest.mark.parametrize("name", CORRECT)
def test_correct_code_earns_full_marks_on_the_function_checks(name):
    assert_outcome(run(IMPLS / "correct" / name, training=False), {}, name)


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_public_implementations_get_what_they_deserve(name):
    """d2l's, d2l-zh's and Dive-into-DL-PyTorch's concise models earn every net and training
    point, except a loss that averages the batch where the assignment asks for reduction='none'."""
    results = run(IMPLS / "public" / name, training=False)
    assert_outcome(results, PUBLIC[name]["fails"], name)
    assert all(results[c].passed for c in ("net.structure", "net.shapes", "net.init"))


def test_broken_code_fails_in_chinese():
    """Every failure of a broken function reads in Chinese, hints included."""
    leaks = {}
    for name in BROKEN:
        for cid, res in run(IMPLS / "broken" / name, training=False, lang="zh_CN").items():
            if not res.passed and (words := english_words(res.message)):
                leaks[f"{name} {cid}"] = (words, res.message)
    assert not leaks, leaks


def canned_runs():
    """Training runs (as the caller returns them, measured) failing the training checks each way."""
    W, b = CALLS.initial_parameters("cpu", config.SEED)
    probes = torch.rand(CALLS.PROBE_IMAGES, 1, 28, 28)
    good = {"ok": True, "W": W, "b": b, "epochs": 1, "batches_per_epoch": 235, "train_passes": 1,
            "train_batches": 235, "ops": [], "test_accuracy": 0.83, "probe_in": probes,
            "probe_out": probes.reshape(len(probes), -1) @ W + b, "curve": []}  # fmt: skip
    return good, {
        "autograd": {**good, "ops": ["aten::mm", "autograd::backward"]},
        "missing": {"ok": False, "status": "missing", "error": "no function named train_manual was defined"},
        "no_pair": {"ok": False, "status": "failed", "error": "train_manual returned a NoneType; expected the pair (W, b)"},
        "shape": {"ok": False, "status": "failed", "error": "training did not leave parameters of shape (784, 10) and (10,)"},
        "unchanged": {**good, "W": W * 3},
        "no_batches": {**good, "W": W * 3, "train_batches": 0, "train_passes": 1},
        "passes": {**good, "W": W * 3, "train_passes": 2, "test_accuracy": 0.75},
        "partial": {**good, "test_accuracy": 0.75},
        "unlearned": {**good, "test_accuracy": 0.1},
        "not_affine": {**good, "probe_out": torch.zeros(CALLS.PROBE_IMAGES, 10) + 1.0},
    }  # fmt: skip


def test_training_check_messages_in_chinese(monkeypatch):
    """Every failure path of the training checks speaks Chinese (canned runs; the training itself
    is tested with the slow tests)."""
    good, runs = canned_runs()
    monkeypatch.setattr(UNIT.references, "sgd_run", lambda mode: {"W": good["W"], "b": good["b"]})
    training = [c for c in REGISTRY if c.trains]
    for variant, canned in runs.items():
        monkeypatch.setattr(InProcess, "train", lambda self, mode, canned=canned: dict(canned))
        with points_in_effect(REGISTRY.points):
            english = [c.run(InProcess({})) for c in training]
            with i18n.use("zh_CN"):
                chinese = [c.run(InProcess({})) for c in training]
        assert any(not r.passed for r in english), variant
        for zh, en in zip(chinese, english):
            assert (zh.status, zh.score) == (en.status, en.score), (variant, en.check_id)
            assert not zh.passed or not zh.message
            assert english_words(zh.message) == [], (variant, zh.check_id, zh.message)


def test_a_forbidden_softmax_ce_grad_skips_train_manual():
    """train_manual's checks need softmax_ce_grad: forbidden there, they are not run (no training)."""
    caller = InProcess(namespace())
    chosen = [(c.id, c.run) for c in REGISTRY if c.function == "train_manual"]
    results = list(loop.run(chosen, caller, needs=REGISTRY.needs, points=REGISTRY.points,
                            forbidden={"softmax_ce_grad": ["backward"]}))  # fmt: skip
    assert [r.status for r in results] == ["forbidden", "forbidden"]
    assert not caller._runs  # nothing trained


# -- the harness (calls.py), on small data ---------------------------------------------------
def tiny_data(batches=3, n=16, seed=0):
    """(train batches, test batches) lists of a few random image batches."""
    gen = torch.Generator().manual_seed(seed)
    train = [(torch.rand(n, 1, 28, 28, generator=gen), torch.randint(0, 10, (n,), generator=gen))
             for _ in range(batches)]  # fmt: skip
    return train, train[:1]


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
def test_the_recorder_notes_autograd_however_it_is_reached():
    W = torch.randn(3, 2, dtype=torch.float64)

    def recorded(fn):
        rec = CALLS.AutogradRecorder()
        with rec:
            fn()
        return set(rec.names())

    def leaf():
        return W.clone().requires_grad_(True)

    def backward():
        leaf().exp().sum().backward()

    def grad():
        w = leaf()
        torch.autograd.grad(w.exp().sum(), [w])

    marks = set(UNIT.spec.AUTOGRAD_MARKS)
    assert "autograd::backward" in recorded(backward)
    assert "autograd::backward" in recorded(grad)
    assert "autograd::backward" in recorded(lambda: torch.func.grad(lambda w: w.exp().sum())(W))
    assert "autograd::forward_ad" in recorded(lambda: torch.func.jacfwd(lambda w: w.exp().sum())(W))
    assert not recorded(lambda: (W.exp() / W.exp().sum()).T @ W) & marks


def test_autograd_in_a_call_is_reported_as_forbidden_operators():
    ns = namespace(IMPLS / "broken" / "grad_autograd.py")
    X, y, W, b = torch.randn(4, 3), torch.tensor([0, 1, 2, 0]), torch.randn(3, 3), torch.zeros(3)
    reply = CALLS.execute_call(ns, "softmax_ce_grad", [X, y, W, b])
    assert reply["ok"] and "autograd::backward" in reply["ops"]
    assert isinstance(reply["value"], list) and len(reply["value"]) == 2
    clean = CALLS.execute_call(namespace(), "softmax_ce_grad", [X, y, W, b])
    assert clean["ok"] and not set(clean["ops"]) & set(UNIT.spec.AUTOGRAD_MARKS)


def test_optimizer_steps_leave_the_net_and_the_optimizer_as_found():
    ns = namespace(IMPLS / "broken" / "training_momentum.py")
    ns["trainer"].state  # noqa: B018 - empty before any step
    before = [p.detach().clone() for p in ns["net"].parameters()]
    reply = CALLS.execute_call(ns, "@optimizer_steps", [7])
    assert reply["ok"], reply
    steps = reply["value"]["parameters"]
    assert len(steps) == 2 and all(len(r["after"]) == 2 for r in steps)
    assert all(torch.equal(p, q) for p, q in zip(before, ns["net"].parameters()))
    assert all(p.grad is None for p in ns["net"].parameters())
    assert not ns["trainer"].state  # the momentum buffers the grader's steps made are gone


def test_the_concise_run_measures_the_trained_net_and_puts_it_back():
    ns = namespace()
    net = ns["net"]
    before = [p.detach().clone() for p in net.parameters()]
    data = tiny_data()
    run = CALLS.run_training(ns, "concise", data, "cpu")
    assert run["ok"], run
    assert (
        run["steps"] == config.NUM_EPOCHS * len(data[0]) and len(run["curve"]) == config.NUM_EPOCHS
    )
    assert all(torch.equal(p, q) for p, q in zip(before, net.parameters()))
    # the same training on a copy gives the weight the run measured, as (784, 10)
    twin = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10))
    twin.load_state_dict(net.state_dict())
    opt = torch.optim.SGD(twin.parameters(), lr=0.1)
    for _ in range(config.NUM_EPOCHS):
        for X, y in data[0]:
            opt.zero_grad()
            torch.nn.functional.cross_entropy(twin(X), y, reduction="none").mean().backward()
            opt.step()
    assert torch.allclose(run["W"], twin[1].weight.detach().T, atol=1e-5)
    assert torch.allclose(run["b"], twin[1].bias.detach(), atol=1e-5)
    assert run["W"].shape == (784, 10) and run["probe_out"].shape == (CALLS.PROBE_IMAGES, 10)


def test_the_manual_run_is_the_closed_form_sgd_and_records_autograd():
    data = tiny_data()
    run = CALLS.run_training(namespace(), "manual_epoch", data, "cpu")
    assert run["ok"] and run["train_passes"] == 1 and run["train_batches"] == len(data[0])
    W, b = CALLS.initial_parameters("cpu", config.SEED)
    for X, y in data[0]:
        W, b = UNIT.references.manual_step(X, y, W, b, config.LR)
    assert torch.allclose(run["W"], W, atol=1e-6) and torch.allclose(run["b"], b, atol=1e-6)
    assert not set(run["ops"]) & set(UNIT.spec.AUTOGRAD_MARKS)
    cheat = CALLS.run_training(namespace(IMPLS / "broken" / "manual_autograd.py"), "manual", data, "cpu")  # fmt: skip
    assert "autograd::backward" in cheat["ops"] and cheat["epochs"] == config.NUM_EPOCHS
    # judged forbidden from its first backward on: no later batch is handed out (variant: Accounted)
    assert (cheat["train_passes"], cheat["train_batches"]) == (config.NUM_EPOCHS, 1)
    none = CALLS.run_training(namespace(IMPLS / "broken" / "manual_no_return.py"), "manual_epoch", data, "cpu")  # fmt: skip
    assert not none["ok"] and "expected the pair (W, b)" in none["error"]


def test_the_caller_measures_only_well_shaped_runs_of_the_measured_modes(monkeypatch):
    runs = {
        "concise": {"ok": True, "W": torch.zeros(784, 10), "b": torch.zeros(10)},
        "manual_epoch": {"ok": True, "W": torch.zeros(784, 10), "b": torch.zeros(10)},
        "manual": {"ok": True, "W": torch.zeros(10, 784), "b": torch.zeros(10)},
    }
    monkeypatch.setattr(InProcess, "_train", lambda self, mode: dict(runs[mode]))
    monkeypatch.setattr(UNIT.data, "hidden_arrays", lambda device="cpu": (torch.zeros(5, 1, 28, 28), torch.zeros(5, dtype=torch.long)))  # fmt: skip
    caller = InProcess({})
    assert caller.train("concise")["test_accuracy"] == 1.0  # all predictions class 0
    assert "test_accuracy" not in caller.train("manual_epoch")
    bad = caller.train("manual")
    assert not bad["ok"] and "(784, 10)" in bad["error"]


def test_references_agree():
    gen = torch.Generator().manual_seed(3)
    X, W, b = (torch.randn(*s, generator=gen, dtype=torch.float64) for s in ((7, 5), (5, 4), (4,)))
    y = torch.tensor([0, 3, 3, 1, 0, 1, 1])  # class 2 absent
    for got, want in zip(UNIT.references.ce_grad_closed_form(X, y, W, b),
                         UNIT.references.ce_grad_autograd(X, y, W, b)):  # fmt: skip
        assert torch.allclose(got, want, atol=1e-12)
    o = torch.randn(6, 5, generator=gen, dtype=torch.float64) * 1e4
    t = torch.randint(0, 5, (6,), generator=gen)
    want = torch.nn.functional.cross_entropy(o, t, reduction="none")
    assert torch.allclose(UNIT.references.cross_entropy_from_logits(o, t), want)


@pytest.mark.skipif(
    "softmax_regression_concise" not in config.UNITS.values(),
    reason="the unit is not registered yet",
)
def test_forbidden_names_are_found_in_the_source():
    from autograder.submissions.notebook import definitions, forbidden_uses

    assignment = next(a for a, u in config.UNITS.items() if u == "softmax_regression_concise")
    for name, function in (("grad_autograd.py", "softmax_ce_grad"),
                           ("sce_log_softmax.py", "stable_cross_entropy"),
                           ("manual_autograd.py", "train_manual")):  # fmt: skip
        nodes, err = definitions((IMPLS / "broken" / name).read_text(), assignment=assignment)
        assert err is None and function in forbidden_uses(nodes, assignment), name
    nodes, _err = definitions((IMPLS / "broken" / "sce_logsumexp_computed.py").read_text(), assignment=assignment)  # fmt: skip
    assert not forbidden_uses(nodes, assignment)  # only the dispatcher finds a computed name
    for name in CORRECT:
        nodes, _err = definitions((IMPLS / "correct" / name).read_text(), assignment=assignment)
        assert not forbidden_uses(nodes, assignment), name


# -- training (slow) ------------------------------------------------------------------------
@pytest.mark.slow
def test_the_base_implementation_earns_full_marks_with_training():
    results = run(None, training=True)
    assert_outcome(results, {}, "base.py")
    for cid in UNIT.accuracy_checks:
        assert results[cid].details["test_accuracy"] >= config.ACCURACY_TIERS[0][0]
    assert len(results["training.accuracy"].details["curve"]) == config.NUM_EPOCHS


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in BROKEN if EXPECTED[n].get("train")])
def test_broken_training_fails_exactly_the_expected_checks(name):
    spec = EXPECTED[name]
    assert_outcome(run(IMPLS / "broken" / name, training=True), spec["fails"], name, spec.get("status"))  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("name", ["shusentang_linearnet.py", "d2l_pytorch.py"])
def test_public_implementations_train_to_full_marks(name):
    results = run(IMPLS / "public" / name, training=True)
    assert_outcome(results, PUBLIC[name]["fails"], name)
    assert results["training.accuracy"].passed
