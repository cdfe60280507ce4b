"""Command line: ``python -m autograder grade PATH... --out DIR`` (see --help)."""

from __future__ import annotations

import argparse
import dataclasses
import sys

from . import config


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    g = sub.add_parser("grade", help="grade submissions into a results folder and print a table")
    g.add_argument(
        "paths",
        nargs="+",
        help="a notebook, a student's assignment folder, or nbgrader's submitted/ root",
    )
    g.add_argument(
        "--out", required=True, help="results folder: <student>/results.json and grades.csv"
    )
    g.add_argument(
        "--workers",
        type=int,
        default=None,
        help="submissions graded in parallel (default: from cores and device)",
    )
    g.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default="auto",
        help="where student code runs (default: auto)",
    )
    g.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds one submission may take in all (default from config)",
    )
    return parser


def cmd_grade(args) -> int:
    from .batch import grade_all
    from .exports import table

    limits = config.LIMITS
    if args.timeout:
        limits = dataclasses.replace(limits, submission_seconds=args.timeout)
    try:
        results = grade_all(
            args.paths, args.out, workers=args.workers, device=args.device, limits=limits
        )
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(table(results))
    print(f"\nResults: {args.out}/<student>/results.json, {args.out}/grades.csv")
    return 0


COMMANDS = {"grade": cmd_grade}


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return COMMANDS[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
