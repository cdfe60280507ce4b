"""Grading benchmarks, side by side in one run on one machine (results: docs/benchmarks.md).

(a) Data pipeline: seconds per training epoch of d2l's softmax regression (784 -> 10, lr 0.1,
    batch 256, shuffled) fed by d2l's pipeline -- torchvision ``FashionMNIST`` with
    ``transforms.ToTensor()`` through ``DataLoader(batch_size=256, shuffle=True,
    num_workers=4)`` (d2l's ``get_dataloader_workers()``; ``--num-workers`` changes it) -- against
    the device-resident ``TensorBatches`` the grader and the notebooks use. Same model, same
    update, same device; only the batches differ. Two epochs are timed: the bare training pass,
    and one pass of d2l's ``train_ch3`` loop (``train_epoch_ch3`` with its per-batch loss and
    accuracy sums, then ``evaluate_accuracy`` over the 10,000 test images, which d2l reads
    through a second ``DataLoader``). Each reported as a ratio (target >= 20x).
(b) One submission end to end: ``python -m autograder grade <one student> --no-report`` as a
    fresh process (median of ``--repeats``), against its floor: one process's ``import torch``
    plus one 10-epoch training run. Also the cost the warm fork server saves: starting a worker
    (a fork that already holds torch and the data) against a fresh ``python -c "import torch"``,
    and a whole submission graded in an already warm grader (what each further student costs).
(c) A generated class of ``--class-size`` submissions (the example students, cycled): this
    grader against ``nbgrader autograde`` (graded by the same confined grader, with the display
    run in the confined kernel) on the same notebooks in a temporary course copy, as a ratio
    (target: nbgrader's path within 2x); with ``--nbgrader-baseline DIR`` also the nbgrader path
    of another checkout (the old in-kernel hidden tests), side by side; the per-student totals
    must be identical (our grades.csv ``score`` against nbgrader's exported ``raw_score``); peak
    RSS per worker (target < 1.5 GB).

    python benchmarks/grading.py                              # the full run (long: nbgrader)
    python benchmarks/grading.py --class-size 8 --json out.json
    python benchmarks/grading.py --subset 2048 --epochs 1 --repeats 1 --class-size 1  # smoke

Training threads: ``--threads`` (default 1, as each CPU grading worker when the class fills the
cores). ``--device cuda`` runs (a) and (b) on the GPU and grades (c) with ``--device cuda``.
The script exits 0 whatever the numbers; ``--json`` writes them for a caller to check.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from autograder import config, units  # noqa: E402

UNIT = units.get()
"""The unit benchmarked (config.ASSIGNMENT's: d2l's softmax regression, whose training it times)."""
data, references = UNIT.data, UNIT.references

EXAMPLES = REPO / "examples" / "submitted"
TARGETS = {"pipeline_ratio": 20.0, "nbgrader_path_ratio": 2.0, "peak_rss_gb": 1.5}


# -- helpers -----------------------------------------------------------------------------------
def sync(device):
    import torch

    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def timed(fn, device="cpu"):
    sync(device)
    start = time.perf_counter()
    out = fn()
    sync(device)
    return time.perf_counter() - start, out


def run(cmd, cwd=None, env=None, timeout=7200):
    """Run a command; return its wall seconds (raises with its output when it fails)."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n"
                           f"{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")  # fmt: skip
    return seconds


def machine() -> dict:
    """nproc, memory, CPU model, GPU (if any), Python and torch versions."""
    import torch

    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        kb = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        mem = f"{kb / 1024**2:.1f} GiB"
    except (OSError, IndexError, ValueError):
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    return {"nproc": len(os.sched_getaffinity(0)), "memory": mem, "cpu": cpu, "gpu": gpu,
            "python": platform.python_version(), "torch": torch.__version__}  # fmt: skip


# -- (a) the data pipeline ---------------------------------------------------------------------
def d2l_loader(batch_size, num_workers, subset=None, train=True):
    """d2l's load_data_fashion_mnist iterator (ToTensor, DataLoader; the training one shuffles)."""
    import torch
    from torchvision import datasets, transforms

    fm = data.helper_module()
    root = fm._torchvision_root(fm.data_root())
    ds = datasets.FashionMNIST(
        root=str(root), train=train, transform=transforms.Compose([transforms.ToTensor()]),
        download=True,
    )  # fmt: skip
    if subset:
        ds = torch.utils.data.Subset(ds, range(min(subset, len(ds))))
    return torch.utils.data.DataLoader(ds, batch_size, shuffle=train, num_workers=num_workers)


def tensor_batches(device, subset=None, train=True):
    """The grader's batches (device-resident TensorBatches; the training ones shuffle)."""
    fm = data.helper_module()
    arrays = data.arrays(str(device))
    X, y = arrays[:2] if train else arrays[2:]
    if subset:
        X, y = X[:subset], y[:subset]
    return fm.TensorBatches(X, y, config.BATCH_SIZE, shuffle=train, seed=config.SEED)


def new_params(device):
    import torch

    torch.manual_seed(config.SEED)
    W = torch.normal(0, config.INIT_STD, (config.NUM_INPUTS, config.NUM_OUTPUTS), device=device)
    b = torch.zeros(config.NUM_OUTPUTS, device=device)
    return W.requires_grad_(), b.requires_grad_()


def train_epoch(batches, W, b, device):
    """One epoch of d2l's from-scratch softmax regression (sum loss, sgd with lr / batch)."""
    import torch

    for X, y in batches:
        X, y = X.to(device, non_blocking=True), y.to(device, non_blocking=True)
        y_hat = references.softmax(X.reshape(-1, config.NUM_INPUTS) @ W + b)
        references.cross_entropy(y_hat, y).sum().backward()
        with torch.no_grad():
            for p in (W, b):
                p -= config.LR * p.grad / len(y)
                p.grad.zero_()


def d2l_accuracy(y_hat, y):
    """d2l's accuracy: the number of correct predictions, as a float."""
    return float((y_hat.argmax(dim=1).type(y.dtype) == y).type(y.dtype).sum())


def train_ch3_epoch(train_iter, test_iter, W, b, device):
    """One pass of d2l's train_ch3 loop: train_epoch_ch3, then evaluate_accuracy on test_iter.

    As d2l: the epoch sums the loss, the correct predictions and the examples of every batch
    (its Accumulator, one float() each), and the test set is read through its own iterator.
    """
    import torch

    metric = [0.0, 0.0, 0.0]
    for X, y in train_iter:
        X, y = X.to(device, non_blocking=True), y.to(device, non_blocking=True)
        y_hat = references.softmax(X.reshape(-1, config.NUM_INPUTS) @ W + b)
        loss = references.cross_entropy(y_hat, y)
        loss.sum().backward()
        with torch.no_grad():
            for p in (W, b):
                p -= config.LR * p.grad / len(y)
                p.grad.zero_()
        metric = [
            metric[0] + float(loss.sum()),
            metric[1] + d2l_accuracy(y_hat, y),
            metric[2] + y.numel(),
        ]
    correct = seen = 0.0
    with torch.no_grad():
        for X, y in test_iter:
            X, y = X.to(device, non_blocking=True), y.to(device, non_blocking=True)
            correct += d2l_accuracy(references.softmax(X.reshape(-1, config.NUM_INPUTS) @ W + b), y)
            seen += y.numel()
    return metric, correct / seen


def epoch_seconds(epoch, device, epochs):
    """Median seconds of `epoch`(W, b) over `epochs` calls on fresh parameters."""
    W, b = new_params(device)
    times = [timed(lambda: epoch(W, b), device)[0] for _ in range(epochs)]
    return statistics.median(times)


def bench_pipeline(args) -> dict:
    """The bare training pass, and a whole train_ch3 epoch (with metrics and the test set)."""
    d2l_train = d2l_loader(config.BATCH_SIZE, args.num_workers, args.subset)
    d2l_test = d2l_loader(config.BATCH_SIZE, args.num_workers, args.subset, train=False)
    ours_train = tensor_batches(args.device, args.subset)
    ours_test = tensor_batches(args.device, args.subset, train=False)
    W, b = new_params(args.device)
    train_epoch([next(iter(ours_train))], W, b, args.device)  # warm-up: first-call allocations
    res = {"examples": len(ours_train.y), "test_examples": len(ours_test.y),
           "num_workers": args.num_workers, "epochs": args.epochs}  # fmt: skip
    for key, (train, test) in (("dataloader", (d2l_train, d2l_test)),
                               ("tensorbatches", (ours_train, ours_test))):  # fmt: skip
        res[f"{key}_s_per_epoch"] = epoch_seconds(
            partial(train_epoch, train, device=args.device), args.device, args.epochs
        )
        res[f"{key}_s_per_train_ch3_epoch"] = epoch_seconds(
            partial(train_ch3_epoch, train, test, device=args.device), args.device, args.epochs
        )
    res["ratio"] = res["dataloader_s_per_epoch"] / res["tensorbatches_s_per_epoch"]
    res["train_ch3_ratio"] = (
        res["dataloader_s_per_train_ch3_epoch"] / res["tensorbatches_s_per_train_ch3_epoch"]
    )
    return res


# -- (b) one submission ------------------------------------------------------------------------
def grade_cmd(paths, out, device, extra=()):
    return [sys.executable, "-m", "autograder", "grade", *map(str, paths), "--out", str(out),
            "--no-report", "--device", device, *extra]  # fmt: skip


def worker_start_seconds(student, device, repeats):
    """(fork server process start, sandboxed worker ready with the student's code), warm medians."""
    from autograder.grading import collect
    from autograder.sandbox import forkserver, runner
    from autograder.submissions import notebook, submission

    ctx = forkserver.context()
    # as `python -m autograder grade`: the optional preloads of what the student's code imports
    imported = collect.notebook_imports([student])
    ctx.set_forkserver_preload([forkserver.PRELOAD[0], *forkserver.optional_preload(imported)])
    ext = notebook.extract(notebook.read_notebook(student), submission.release_notebook())

    def bare():
        p = ctx.Process(target=os.getpid)
        p.start()
        p.join()

    def ready():
        caller = runner.WorkerCaller(ext, device=device)
        try:
            caller._start()
        finally:
            caller.close()

    bare()  # the first start launches the fork server (imports torch, reads the data)
    ready()
    return (statistics.median(timed(bare)[0] for _ in range(repeats)),
            statistics.median(timed(ready)[0] for _ in range(repeats)))  # fmt: skip


def bench_one(args, tmp: Path) -> dict:
    import torch

    student = EXAMPLES / args.student
    import_torch = [run([sys.executable, "-c", "import torch"]) for _ in range(args.repeats)]
    W, b = new_params(args.device)
    batches = tensor_batches(args.device, args.subset)  # --subset: the smoke run's
    train_epoch([next(iter(batches))], W, b, args.device)
    train10, _ = timed(
        lambda: [train_epoch(batches, W, b, args.device) for _ in range(config.NUM_EPOCHS)],
        args.device,
    )
    cold = [run(grade_cmd([student], tmp / f"one-{k}", args.device)) for k in range(args.repeats)]
    fork_s, worker_s = worker_start_seconds(
        student / config.ASSIGNMENT / UNIT.main_notebook, args.device, max(3, args.repeats)
    )
    from autograder.grading.grader import grade_submission
    from autograder.submissions.submission import find_submissions

    sub = find_submissions(student)[0]
    warm = [timed(lambda: grade_submission(sub, args.device, torch.get_num_threads()))[0]
            for _ in range(args.repeats)]  # fmt: skip
    floor = statistics.median(import_torch) + train10
    return {"student": args.student, "repeats": args.repeats,
            "grade_one_cold_s": statistics.median(cold), "import_torch_s": statistics.median(import_torch),
            "train_10_epochs_s": train10, "floor_s": floor,
            "cold_over_floor": statistics.median(cold) / floor,
            "fork_server_process_s": fork_s, "worker_ready_s": worker_s,
            "grade_one_warm_s": statistics.median(warm)}  # fmt: skip


# -- (c) a class -------------------------------------------------------------------------------
def make_course(
    tmp: Path, size: int, root: Path = REPO, name="course"
) -> tuple[Path, dict[str, str]]:
    """A course copy (`root`'s source/ and nbgrader_config.py) with `size` students cycled from the
    examples."""
    course = tmp / name
    ignore = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints")
    shutil.copytree(root / "source" / config.ASSIGNMENT, course / "source" / config.ASSIGNMENT,
                    ignore=ignore)  # fmt: skip
    shutil.copy(root / "nbgrader_config.py", course / "nbgrader_config.py")
    kinds = sorted(p.name for p in EXAMPLES.iterdir() if (p / config.ASSIGNMENT).is_dir())
    students = {}
    for k in range(size):
        kind = kinds[k % len(kinds)]
        name = f"s{k:03d}_{kind}"
        shutil.copytree(EXAMPLES / kind / config.ASSIGNMENT,
                        course / "submitted" / name / config.ASSIGNMENT)  # fmt: skip
        students[name] = kind
    return course, students


def nbgrader_env(root: Path = REPO):
    """nbgrader's environment; its nbgrader_config.py (and an old path's hidden tests) import the
    grader of `root`."""
    bin_dir = Path(sys.executable).parent
    env = {
        k: v for k, v in os.environ.items() if k not in ("NBGRADER_DB_URL", "SOFTMAX_COURSE_ROOT")
    }
    env.update(PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", MPLBACKEND="Agg",
               PYTHONDONTWRITEBYTECODE="1", PYTHONPATH=str(root))  # fmt: skip
    return env, str(bin_dir / "nbgrader")


def read_csv(path: Path, key: str, value: str) -> dict[str, float]:
    with open(path, newline="") as fh:
        return {row[key]: float(row[value] or 0) for row in csv.DictReader(fh)}


def compare(ours: dict, theirs: dict, students) -> dict:
    """student -> (our total, nbgrader's total) for each student whose totals differ or lack."""
    out = {}
    for s in students:
        o, t = ours.get(s), theirs.get(s)
        if o is None or t is None or abs(o - t) > 1e-6:
            out[s] = (o, t)
    return out


def nbgrader_class(args, tmp: Path, root: Path, label: str, ours: dict) -> dict:
    """`nbgrader autograde` of the class in a course made from checkout `root`: seconds, agreement."""
    course, students = make_course(tmp, args.class_size, root, name=f"course-{label}")
    env, nbgrader = nbgrader_env(root)
    generate_s = run([nbgrader, "generate_assignment", config.ASSIGNMENT], cwd=course, env=env)
    nb_s = run([nbgrader, "autograde", config.ASSIGNMENT, *args.nbgrader_args], cwd=course,
               env=env)  # fmt: skip
    run([nbgrader, "export", "--to", str(course / "grades.csv")], cwd=course, env=env)
    theirs = read_csv(course / "grades.csv", "student_id", "raw_score")
    mismatched = compare(ours, theirs, students)
    return {"nbgrader_generate_s": generate_s, "nbgrader_s": nb_s,
            "nbgrader_s_per_student": nb_s / args.class_size, "students_compared": len(students),
            "identical_totals": len(students) - len(mismatched),
            "mismatched": {s: {"kind": students[s], "ours": o, "nbgrader": t}
                           for s, (o, t) in mismatched.items()}}  # fmt: skip


def class_floor(args, per_student: float) -> dict:
    """A student's floor, measured right after the class in this process (one core, as each
    grading worker): 10 epochs of d2l's from-scratch training pass, and of d2l's whole train_ch3
    loop (per-batch sums and the test-set evaluation); per student with the class's workers."""
    from autograder.grading.batch import default_workers

    workers = args.workers or default_workers(args.device)
    batches = tensor_batches(args.device, args.subset)  # --subset: the smoke run's
    test = tensor_batches(args.device, args.subset, train=False)
    W, b = new_params(args.device)
    bare, _ = timed(lambda: [train_epoch(batches, W, b, args.device)
                             for _ in range(config.NUM_EPOCHS)], args.device)  # fmt: skip
    W, b = new_params(args.device)
    loop, _ = timed(lambda: [train_ch3_epoch(batches, test, W, b, args.device)
                             for _ in range(config.NUM_EPOCHS)], args.device)  # fmt: skip
    return {"workers": workers, "floor_train_10_s": bare, "floor_train_ch3_10_s": loop,
            "per_student_over_floor": per_student * workers / bare,
            "per_student_over_train_ch3_floor": per_student * workers / loop}  # fmt: skip


def bench_class(args, tmp: Path) -> dict:
    course, students = make_course(tmp, args.class_size)
    out = tmp / "ours"
    extra = ["--workers", str(args.workers)] if args.workers else []
    ours_s = run(grade_cmd([course / "submitted"], out, args.device, extra))
    ours = read_csv(out / "grades.csv", "student", "score")
    rss = [json.loads((out / s / "results.json").read_text())["extra_data"]["info"]["peak_rss"]
           for s in students]  # fmt: skip
    result = {"class_size": args.class_size, "ours_s": ours_s,
              "ours_s_per_student": ours_s / args.class_size,
              "peak_rss_max_gb": max(rss) / 1024**3,
              "peak_rss_median_gb": statistics.median(rss) / 1024**3}  # fmt: skip
    result.update(class_floor(args, result["ours_s_per_student"]))
    if args.skip_nbgrader:
        return result
    result.update(nbgrader_class(args, tmp, REPO, "this", ours))
    result["ratio"] = result["nbgrader_s"] / ours_s
    if args.nbgrader_baseline:
        base = nbgrader_class(args, tmp, args.nbgrader_baseline.resolve(), "baseline", ours)
        base["ratio"] = base["nbgrader_s"] / ours_s
        result["baseline"] = base
    return result


# -- report ------------------------------------------------------------------------------------
def verdict(ok: bool) -> str:
    return "meets target" if ok else "MISSES target"


def report(res: dict) -> str:
    m = res["machine"]
    lines = [f"machine: {m['nproc']} cores ({m['cpu']}), {m['memory']} RAM, GPU {m['gpu']}; "
             f"Python {m['python']}, torch {m['torch']}; device {res['device']}, "
             f"{res['threads']} torch thread(s)"]  # fmt: skip
    if "pipeline" in res:
        p = res["pipeline"]
        lines += ["", f"(a) seconds per training epoch ({p['examples']} images, batch {config.BATCH_SIZE}, "
                  f"median of {p['epochs']})",
                  f"    training pass only:  d2l DataLoader (ToTensor, shuffle, num_workers={p['num_workers']}) "
                  f"{p['dataloader_s_per_epoch']:.3f} s, TensorBatches {p['tensorbatches_s_per_epoch']:.3f} s",
                  f"    ratio: {p['ratio']:.1f}x  ({verdict(p['ratio'] >= TARGETS['pipeline_ratio'])} >= {TARGETS['pipeline_ratio']:g}x)",
                  f"    train_ch3 epoch (train_epoch_ch3 with its metrics + evaluate_accuracy on "
                  f"{p['test_examples']} test images):",
                  f"                         d2l DataLoader {p['dataloader_s_per_train_ch3_epoch']:.3f} s, "
                  f"TensorBatches {p['tensorbatches_s_per_train_ch3_epoch']:.3f} s",
                  f"    ratio: {p['train_ch3_ratio']:.1f}x  ({verdict(p['train_ch3_ratio'] >= TARGETS['pipeline_ratio'])} >= {TARGETS['pipeline_ratio']:g}x)"]  # fmt: skip
    if "one" in res:
        o = res["one"]
        lines += ["", f"(b) one submission ({o['student']}), median of {o['repeats']}",
                  f"    python -m autograder grade (fresh process):     {o['grade_one_cold_s']:8.2f} s",
                  f"    floor: import torch {o['import_torch_s']:.2f} s + 10 epochs {o['train_10_epochs_s']:.2f} s = {o['floor_s']:8.2f} s  "
                  f"(grade / floor = {o['cold_over_floor']:.2f})",
                  f"    per further student in a warm grader:           {o['grade_one_warm_s']:8.2f} s",
                  f"    worker start: fork from warm fork server {o['fork_server_process_s'] * 1000:.0f} ms, "
                  f"sandboxed worker ready {o['worker_ready_s'] * 1000:.0f} ms, vs fresh "
                  f"`python -c 'import torch'` {o['import_torch_s'] * 1000:.0f} ms"]  # fmt: skip
    if "klass" in res:
        c = res["klass"]
        lines += ["", f"(c) a class of {c['class_size']} submissions",
                  f"    this grader:        {c['ours_s']:8.1f} s  ({c['ours_s_per_student']:.2f} s/student)",
                  f"    floor (one core, 10 epochs): training pass {c['floor_train_10_s']:.2f} s, "
                  f"d2l's train_ch3 loop {c['floor_train_ch3_10_s']:.2f} s; a student costs "
                  f"{c['per_student_over_floor']:.2f}x / {c['per_student_over_train_ch3_floor']:.2f}x "
                  f"of them with {c['workers']} workers (target <= 1.2x)"]  # fmt: skip
        if "nbgrader_s" in c:
            runs = [("nbgrader autograde (this checkout, confined)", c)]
            if "baseline" in c:
                runs.append(("nbgrader autograde (baseline checkout)", c["baseline"]))
            for label, n in runs:
                lines += [f"    {label}: {n['nbgrader_s']:8.1f} s  ({n['nbgrader_s_per_student']:.2f} s/student; "
                          f"generate_assignment {n['nbgrader_generate_s']:.1f} s not counted)",
                          f"      / this grader: {n['ratio']:.2f}x",
                          f"      identical per-student totals: {n['identical_totals']}/{n['students_compared']}"]  # fmt: skip
                for s, d in n["mismatched"].items():
                    lines.append(
                        f"        differs: {s} ({d['kind']}): ours {d['ours']}, nbgrader {d['nbgrader']}"
                    )
            lines.append(f"    nbgrader's path within {TARGETS['nbgrader_path_ratio']:g}x of this grader: "
                         f"{verdict(c['ratio'] <= TARGETS['nbgrader_path_ratio'])}")  # fmt: skip
        lines.append(f"    peak RSS per worker: max {c['peak_rss_max_gb']:.2f} GB, median "
                     f"{c['peak_rss_median_gb']:.2f} GB  ({verdict(c['peak_rss_max_gb'] < TARGETS['peak_rss_gb'])} "
                     f"< {TARGETS['peak_rss_gb']:g} GB)")  # fmt: skip
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    p.add_argument(
        "--threads", type=int, default=1, help="torch threads of this process (default 1)"
    )
    p.add_argument("--num-workers", type=int, default=4,
                   help="DataLoader num_workers of the d2l pipeline (d2l uses 4; 0 = in process)")  # fmt: skip
    p.add_argument("--epochs", type=int, default=3, help="(a) epochs timed per pipeline (median)")
    p.add_argument("--subset", type=int, default=None,
                   help="train on the first N images only, in (a) and in the floors of (b) and (c)")  # fmt: skip
    p.add_argument("--repeats", type=int, default=3, help="(b) runs per timing (median)")
    p.add_argument("--student", default="alice_full", help="(b) example student to grade")
    p.add_argument("--class-size", type=int, default=50, help="(c) submissions in the class")
    p.add_argument("--workers", type=int, default=None, help="(c) grader workers (default: auto)")
    p.add_argument("--skip-nbgrader", action="store_true", help="(c) time only this grader")
    p.add_argument("--nbgrader-baseline", type=Path, default=None,
                   help="(c) also autograde the class with the nbgrader path of this checkout "
                   "(e.g. git worktree add /tmp/base <commit>), side by side")  # fmt: skip
    p.add_argument("--nbgrader-args", nargs="*", default=[],
                   help="(c) extra arguments of nbgrader autograde (this checkout and the baseline)")  # fmt: skip
    p.add_argument("--only", default="abc", help="parts to run, e.g. 'a' or 'bc' (default abc)")
    p.add_argument("--json", type=Path, default=None, help="also write the numbers to this file")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    os.environ.setdefault("MPLBACKEND", "Agg")
    res = {"machine": machine(), "device": args.device, "threads": args.threads,
           "command": " ".join([Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])])}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="softmax-bench-") as tmp:
        tmp = Path(tmp)
        if "a" in args.only:
            res["pipeline"] = bench_pipeline(args)
        if "b" in args.only:
            res["one"] = bench_one(args, tmp)
        if "c" in args.only:
            res["klass"] = bench_class(args, tmp)
    print(report(res), flush=True)
    if args.json:
        args.json.write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
