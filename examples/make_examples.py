"""Generate the example class examples/submitted/<student>/<assignment>/ from the release notebooks.

Each student's notebooks are the release notebooks with their answer cells filled in (the code
stubs replaced by the bodies below, "YOUR ANSWER HERE" by text), so the cell metadata and
checksums are exactly what a student submits through nbgrader. Every English assignment of
config.EDITIONS has its example class in CLASSES (its students, and those of its Chinese edition,
which the course registers beside it); the notebooks filled are its unit's. Run after
scripts/release.sh:

    python examples/make_examples.py            # rewrite examples/submitted and examples/README.md
    python examples/make_examples.py --out DIR  # write DIR/submitted and DIR/README.md instead
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from pathlib import Path
from textwrap import dedent, indent

import nbformat

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from autograder import config, units  # noqa: E402

STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
TEXT_STUB = "YOUR ANSWER HERE"
SOLUTION_REGION = re.compile(
    r"^[ \t]*### BEGIN SOLUTION\n(.*?)^[ \t]*### END SOLUTION\n?", re.S | re.M
)


def english_assignments() -> list[str]:
    """The English assignments of config.EDITIONS (each with its example class)."""
    return [a for a, language in config.EDITIONS.items() if language == "en"]


def zh_edition(assignment: str) -> str:
    """The Chinese edition of English assignment `assignment` (config registers it for its unit)."""
    unit = units.get(assignment)
    found = [a for a in units.assignments_of(unit) if config.EDITIONS.get(a) == "zh_CN"]
    if not found:
        raise SystemExit(f"make_examples: {assignment} has no zh_CN edition in config.EDITIONS")
    return found[0]


def answer_key(assignment: str) -> dict:
    """qid -> answer of the quiz of the assignment's unit (its answer_key.json)."""
    return json.loads(units.get(assignment).quiz.KEY_FILE.read_text())["answers"]


def source_solutions(assignment: str, notebook: str) -> dict[str, list[str]]:
    """grade_id -> the dedented solution regions of that cell in the source notebook."""
    nb = nbformat.read(REPO / "source" / assignment / notebook, as_version=4)
    out = {}
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        regions = [dedent(m.group(1)) for m in SOLUTION_REGION.finditer(cell.source + "\n")]
        if gid and regions:
            out[gid] = regions
    return out


NAIVE_SOFTMAX = """
X_exp = torch.exp(X)
partition = X_exp.sum(1, keepdim=True)
return X_exp / partition  # The broadcasting mechanism is applied here
"""

WRONG_AXIS_SOFTMAX = """
X_exp = torch.exp(X - X.max(dim=1, keepdim=True).values)
partition = X_exp.sum(0, keepdim=True)
return X_exp / partition
"""

ALTERNATIVE = {
    "softmax": [
        """
        shifted = X - X.amax(dim=-1, keepdim=True)
        numerator = shifted.exp()
        return numerator / numerator.sum(dim=-1, keepdim=True)
        """
    ],
    "cross_entropy": [
        """
        true_class_prob = y_hat.gather(1, y.unsqueeze(1)).squeeze(1)
        return -true_class_prob.clamp_min(torch.finfo(y_hat.dtype).tiny).log()
        """
    ],
    "accuracy": [
        """
        predictions = y_hat.argmax(dim=1) if y_hat.ndim == 2 else y_hat
        return float((predictions.to(y.dtype) == y).sum().item())
        """
    ],
    "train_ch3": [
        """
        if isinstance(net, torch.nn.Module):
            net.train()
        total_loss, total_correct, total_count = 0.0, 0.0, 0
        for X, y in train_iter:
            y_hat = net(X)
            losses = loss(y_hat, y)
            if isinstance(updater, torch.optim.Optimizer):
                updater.zero_grad()
                losses.mean().backward()
                updater.step()
            else:
                losses.sum().backward()
                updater(len(y))
            total_loss += losses.sum().item()
            total_correct += accuracy(y_hat, y)
            total_count += len(y)
        return total_loss / total_count, total_correct / total_count
        """,
        """
        animator = Animator(xlabel="epoch", xlim=[1, num_epochs], ylim=[0.3, 0.9],
                            legend=["train loss", "train acc", "test acc"])
        for epoch in range(1, num_epochs + 1):
            train_loss, train_acc = train_epoch_ch3(net, train_iter, loss, updater)
            test_acc = evaluate_accuracy(net, test_iter)
            animator.add(epoch, (train_loss, train_acc, test_acc))
        return train_loss, train_acc, test_acc
        """,
    ],
}

BUILTINS = {
    "softmax": ["return torch.softmax(X, dim=1)"],
    "cross_entropy": ['return torch.nn.functional.nll_loss(torch.log(y_hat), y, reduction="none")'],
}

WRITTEN = {
    "m1": "exp(50) is about 5e21 and still fits in float32, but exp of a logit above about 88.7 "
    "overflows to inf and inf/inf is nan. Subtracting the row maximum first keeps every exponent "
    "at most 0, so the largest term is 1 and nothing overflows.",
    "m2": "log is only defined for positive numbers; if the true-class probability underflows "
    "to 0 the loss is inf and the gradients nan. Clamp the probability to a tiny positive number "
    "or compute the loss from the logits with log-sum-exp.",
    "m3": "No: the argmax minimizes the number of mistakes only if all mistakes cost the same. "
    "In diagnosis a missed disease costs much more than a false alarm, so decide with a cost "
    "matrix (expected cost) or a lower threshold, and refer uncertain cases to a doctor.",
}


TINY_CROSS_ENTROPY = """
picked = y_hat[torch.arange(len(y_hat), device=y_hat.device), y]
return -torch.log(picked.clamp(min=TINY))
"""

TINY_CONSTANT = "TINY = torch.finfo(torch.float32).tiny  # the smallest positive float32\n\n"
"""A module-level constant computed by a call in the solution cell (issue #11)."""

D2L_PRINT = """
print('epoch %d, loss %.4f, train acc %.3f, test acc %.3f'
      % (epoch + 1, train_metrics[0], train_metrics[1], test_acc))
"""
"""d2l's classic two-line print, the second line starting with % (issue #11)."""


def with_d2l_print(bodies: list[str]) -> list[str]:
    """train_ch3's solution bodies with D2L_PRINT at the end of its epoch loop."""
    epoch, train = bodies
    before, after = train.split("train_loss, train_acc = train_metrics")
    loop = "\n".join("    " + line for line in D2L_PRINT.strip("\n").split("\n"))
    return [
        epoch,
        before.rstrip("\n") + "\n" + loop + "\ntrain_loss, train_acc = train_metrics" + after,
    ]


def quiz_answers(key: dict, overrides: dict[str, object] | None = None,
                 skip: tuple[str, ...] = ()) -> dict:  # fmt: skip
    """qid -> Python source of the answer: the `key`, with overrides; skipped questions stay blank."""
    answers = {
        qid: repr(value) if not isinstance(value, str) else json.dumps(value)
        for qid, value in key.items()
    }
    for qid, source in (overrides or {}).items():
        answers[qid] = source
    return {qid: src for qid, src in answers.items() if qid not in skip}


def students(assignment: str) -> dict[str, dict]:
    """softmax_regression's example class: folder name -> description, code bodies, quiz answers,
    written answers."""
    solution = source_solutions(assignment, units.get(assignment).main_notebook)
    key = answer_key(assignment)
    return {
        "alice_full": {
            "description": "the instructor's solution and the correct quiz answers; expected: full points",
            "code": solution,
            "quiz": quiz_answers(key),
            "written": WRITTEN,
        },
        "bob_naive_softmax": {
            "description": "d2l's literal softmax (exp, then divide by the row sum; overflows for "
            "large logits), everything else correct; expected: loses the softmax stability check",
            "code": {**solution, "softmax": [NAIVE_SOFTMAX]},
            "quiz": quiz_answers(key),
            "written": WRITTEN,
        },
        "carol_blank": {
            "description": "the release notebooks as they are (nothing answered); expected: 0 points, "
            "every function and quiz answer missing",
            "code": {},
            "quiz": {},
            "written": {},
        },
        "dave_wrong_axis": {
            "description": "softmax normalizes over dim 0 (the columns) instead of dim 1, everything "
            'else correct; quiz: q1 and q5 wrong, q7 malformed ("2,3": a decimal comma)',
            "code": {**solution, "softmax": [WRONG_AXIS_SOFTMAX]},
            "quiz": quiz_answers(key, {"q1": '"a"', "q5": '"b"', "q7": '"2,3"'}),
            "written": {"m1": WRITTEN["m1"]},
        },
        "张三": {
            "description": "a Chinese name; the instructor's solution with a module-level constant "
            "computed by a call in the cross_entropy cell (TINY = torch.finfo(...).tiny) and d2l's "
            "two-line print whose second line starts with %; quiz answers typed with a Chinese input "
            'method (full-width "Ｂ", a number in quotes); expected: full points',
            "code": {
                **solution,
                "cross_entropy": [TINY_CROSS_ENTROPY],
                "train_ch3": with_d2l_print(solution["train_ch3"]),
            },
            "prefix": {"cross_entropy": TINY_CONSTANT},
            "quiz": quiz_answers(key, {"q2": '"Ｂ"', "q7": '"2.302585"', "q9": '"(a)"'}),
            "written": WRITTEN,
        },
        "李四_mixed": {
            "description": "a mixed-script name; dave_wrong_axis's submission; expected: dave's grade",
            "code": {**solution, "softmax": [WRONG_AXIS_SOFTMAX]},
            "quiz": quiz_answers(key, {"q1": '"a"', "q5": '"b"', "q7": '"2,3"'}),
            "written": {"m1": WRITTEN["m1"]},
        },
        "erin_alternative": {
            "description": "a correct solution written differently from the instructor's (amax, "
            "gather, clamp_min, plain sums instead of Accumulator); numbers in the quiz written "
            "differently (2.3026, 7850.0); expected: full points",
            "code": ALTERNATIVE,
            "quiz": quiz_answers(key, {"q7": "2.3026", "q10": "7850.0"}),
            "written": WRITTEN,
        },
        "frank_builtins": {
            "description": "softmax calls torch.softmax and cross_entropy calls nll_loss (forbidden), "
            "accuracy and train_ch3 correct; quiz: q1-q5 answered correctly, q6-q10 blank",
            "code": {**solution, **BUILTINS},
            "quiz": quiz_answers(key, skip=("q6", "q7", "q8", "q9", "q10")),
            "written": {},
        },
    }


def fill_code(source: str, bodies: list[str]) -> str:
    """Replace the k-th "YOUR CODE HERE" stub of a cell by bodies[k], at the stub's indentation."""
    lines, out, k = source.split("\n"), [], 0
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.strip() == STUB[0] and i + 1 < len(lines) and lines[i + 1].strip() == STUB[1]:
            pad = line[: len(line) - len(line.lstrip())]
            out.extend(indent(dedent(bodies[k]).strip("\n"), pad).split("\n"))
            k += 1
            i += 2
            continue
        out.append(line)
        i += 1
    if k != len(bodies):
        raise ValueError(f"{len(bodies)} bodies for {k} stubs in:\n{source}")
    return "\n".join(out)


def fill(notebook: str, student: str, spec: dict, assignment: str) -> nbformat.NotebookNode:
    """The release notebook `notebook` of `assignment` (spec["assignment"] instead when it names an
    edition) answered as `spec` says, with provenance metadata."""
    assignment = spec.get("assignment", assignment)
    nb = nbformat.read(REPO / "release" / assignment / notebook, as_version=4)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in spec["code"]:
            cell.source = spec.get("prefix", {}).get(gid, "") + fill_code(
                cell.source, spec["code"][gid]
            )
        elif gid in spec["quiz"]:
            variable = f"{gid}_answer"
            cell.source = fill_code(cell.source, [f"{variable} = {spec['quiz'][gid]}"])
        elif gid in spec["written"] and cell.cell_type == "markdown":
            cell.source = cell.source.replace(TEXT_STUB, spec["written"][gid])
    nb.metadata["softmax_example"] = {
        "generated_by": "examples/make_examples.py",
        "generated_from": f"release/{assignment}/{notebook}",
        "student": student,
        "description": spec["description"],
    }
    return nb


def readme(classes: dict[str, dict[str, dict]]) -> str:
    """examples/README.md: what each example student submitted, per English assignment (its
    class, the Chinese edition's students included)."""
    sources = ", ".join(f"release/{assignment}/" for assignment in classes)
    parts = [f"<!-- Generated by examples/make_examples.py from {sources}; do not edit. -->\n"
             "# Example class\n"]  # fmt: skip
    for assignment, class_ in classes.items():
        notebooks = " and ".join(f"`{name}`" for name in units.get(assignment).notebooks)
        rows = "\n".join(f"| `{name}` | {spec['description']} |" for name, spec in class_.items())
        heading = f"\n## {assignment}\n" if len(classes) > 1 else ""
        parts.append(f"""{heading}
`submitted/<student>/{assignment}/` holds what each example student submitted: the release
notebooks {notebooks} with their answer cells filled in (nbgrader's
`submitted/` layout). Regenerate with `python examples/make_examples.py` after
`bash scripts/release.sh`.

| student | submission |
| --- | --- |
{rows}
""")
    return "".join(parts)


def example_classes() -> dict[str, dict[str, dict]]:
    """English assignment -> its example class (folder name -> spec), for every English assignment
    that has one in CLASSES."""
    missing = [a for a in english_assignments() if a not in CLASSES]
    if missing:  # its own tests grade it (e.g. tests/units/test_concise_grading.py)
        print(f"make_examples: no example class for {', '.join(missing)} (none in CLASSES)",
              file=sys.stderr)  # fmt: skip
    return {a: CLASSES[a](a) for a in english_assignments() if a in CLASSES}


def write_class(out: Path) -> None:
    """Write out/submitted/<student>/<assignment>/*.ipynb and out/README.md."""
    classes = example_classes()
    submitted = out / "submitted"
    if submitted.exists():
        shutil.rmtree(submitted)
    for assignment, class_ in classes.items():
        for student, spec in class_.items():
            edition = spec.get("assignment", assignment)
            folder = submitted / student / edition
            folder.mkdir(parents=True)
            for notebook in units.get(edition).notebooks:
                nbformat.write(fill(notebook, student, spec, assignment), folder / notebook)
    (out / "README.md").write_text(readme(classes), encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    """Command line: write the example class (default: next to this script)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = parser.parse_args(argv)
    write_class(args.out)
    print(f"wrote the example class to {args.out}")


# --------------------------------------------------------------------------------------------
# The Chinese edition (issue #13): students who work in its release (release/softmax_regression_zh/).
# --------------------------------------------------------------------------------------------

D2L_ZH_SOFTMAX = """
X_exp = torch.exp(X)
partition = X_exp.sum(1, keepdim=True)
return X_exp / partition  # 这里应用了广播机制
"""
"""d2l-zh's softmax as printed in the book (no max subtraction: overflows for large logits)."""

D2L_ZH_CROSS_ENTROPY = "return - torch.log(y_hat[range(len(y_hat)), y])"
"""d2l-zh's cross_entropy as printed in the book (no clamp: inf when a probability is 0)."""

D2L_ZH_TRAIN_CH3 = """
animator = Animator(xlabel='epoch', xlim=[1, num_epochs], ylim=[0.3, 0.9],
                    legend=['train loss', 'train acc', 'test acc'])
for epoch in range(num_epochs):
    train_metrics = train_epoch_ch3(net, train_iter, loss, updater)
    test_acc = evaluate_accuracy(net, test_iter)
    animator.add(epoch + 1, train_metrics + (test_acc,))
train_loss, train_acc = train_metrics
assert train_loss < 0.5, train_loss
assert train_acc <= 1 and train_acc > 0.7, train_acc
assert test_acc <= 1 and test_acc > 0.7, test_acc
"""
"""d2l-zh's train_ch3: ends with its asserts and returns None."""

WRITTEN_ZH = {
    "m1": "exp(50) 约为 5.2e21，float32 还能表示；但 logit 超过约 88.7 时 exp 上溢为 inf，"
    "inf/inf 得到 nan。先减去每行的最大值，所有指数都不大于 0，最大项为 1，就不会上溢。",
    "m2": "对数只对正数有定义。真实类别的概率下溢为 0 时，损失为 inf，梯度为 nan。"
    "可以把概率截断到一个极小的正数再取对数，或者直接用 logit 通过 log-sum-exp 计算损失。",
    "m3": "不一定。只有各种错误代价相同时 argmax 才最优。医疗诊断中漏诊代价远大于误报，"
    "应结合代价矩阵选择期望代价最小的决策，或降低阈值，并把不确定的病例交给医生。",
}


def zh_students(assignment: str) -> dict[str, dict]:
    """softmax_regression's Chinese edition's example students (folder names in Chinese)."""
    solution = source_solutions(assignment, units.get(assignment).main_notebook)
    key, zh = answer_key(assignment), zh_edition(assignment)
    return {
        "王芳": {
            "assignment": zh,
            "description": "Chinese edition (softmax_regression_zh/); the instructor's solution, the "
            "correct quiz answers and written answers in Chinese; expected: full points",
            "code": solution,
            "quiz": quiz_answers(key),
            "written": WRITTEN_ZH,
        },
        "刘洋": {
            "assignment": zh,
            "description": "Chinese edition (softmax_regression_zh/); d2l-zh's code as printed in "
            "the book: softmax without the max subtraction, cross_entropy without the clamp, "
            "train_ch3 ending with d2l-zh's asserts (returns None); quiz: q2 wrong; expected: loses "
            "the softmax stability and cross_entropy underflow checks, full train_ch3 points",
            "code": {
                **solution,
                "softmax": [D2L_ZH_SOFTMAX],
                "cross_entropy": [D2L_ZH_CROSS_ENTROPY],
                "train_ch3": [solution["train_ch3"][0], D2L_ZH_TRAIN_CH3],
            },
            "quiz": quiz_answers(key, {"q2": '"a"'}),
            "written": {"m1": WRITTEN_ZH["m1"]},
        },
    }


CLASSES = {
    "softmax_regression": lambda assignment: {**students(assignment), **zh_students(assignment)}
}
"""English assignment -> its example class (folder name -> spec; a spec's "assignment" names the
edition it is handed in to, by default the English one)."""


if __name__ == "__main__":
    main()
