#!/usr/bin/env bash
# Try nbgrader's own path (autograde, generate_feedback, export) on the bundled example class, in a
# throw-away course folder: the course root's gradebook.db, submitted/, autograded/ and feedback/
# are never touched.
#
# Usage: bash scripts/nbgrader-demo.sh [--out DIR] [STUDENT...]
#   STUDENT: folders of examples/submitted (default: all of them; each runs its training in nbgrader).
#   --out DIR: the course folder to make (must not exist yet; default: a new folder under $TMPDIR).
# The folder is kept: `cd DIR && nbgrader formgrader` shows the autograded notebooks and the written
# answers to grade by hand; delete it when done. nbgrader's output goes to DIR/nbgrader.log: its
# display_data_priority and SQLAlchemy SAWarning lines are harmless (see README).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
COURSE=""
if [ "${1:-}" = "--out" ]; then
  COURSE="${2:?--out needs a folder}"
  shift 2
  if [ -e "$COURSE" ]; then
    echo "nbgrader-demo: $COURSE already exists; name a new folder (the demo makes its own course)" >&2
    exit 2
  fi
fi
EXAMPLES="$ROOT/examples/submitted"
if [ "$#" = 0 ]; then
  set -- $(cd "$EXAMPLES" && ls)
fi
for student in "$@"; do
  if [ ! -d "$EXAMPLES/$student" ]; then
    echo "nbgrader-demo: no example student '$student' in $EXAMPLES (there are: $(cd "$EXAMPLES" && ls | tr '\n' ' '))" >&2
    exit 2
  fi
done
if [ -n "$COURSE" ]; then
  mkdir -p "$COURSE"
else
  COURSE="$(mktemp -d "${TMPDIR:-/tmp}/nbgrader-demo.XXXXXX")"
fi
COURSE="$(cd "$COURSE" && pwd)"
if ! command -v nbgrader >/dev/null 2>&1; then
  source "$ROOT/scripts/bootstrap.sh"
fi
# The throw-away course: its own config, source, gradebook and class. NBGRADER_DB_URL would point
# nbgrader at the real gradebook, so it is dropped here.
unset NBGRADER_DB_URL
# The course's data: as the README says, the official files beside the repository when nothing
# else is configured (the throw-away course is elsewhere, so its nbgrader_config.py cannot see them).
if [ -z "${FASHION_MNIST_ROOT:-}" ] && [ -d "$ROOT/../shared/data/fashion-mnist" ]; then
  export FASHION_MNIST_ROOT="$(cd "$ROOT/../shared/data/fashion-mnist" && pwd)"
fi
# nbgrader_config.py imports this repository's grader (the confined grader replaces Execute).
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
cp "$ROOT/nbgrader_config.py" "$COURSE/"
cp -r "$ROOT/source" "$COURSE/source"
LOG="$COURSE/nbgrader.log"
mkdir -p "$COURSE/submitted"
for student in "$@"; do
  cp -r "$EXAMPLES/$student" "$COURSE/submitted/$student"
done
cd "$COURSE"
# The editions the chosen students handed in: the only ones released and recorded in the gradebook.
ASSIGNMENTS=""
for assignment in $(cd "$ROOT" && python -c 'from autograder.config import EDITIONS; print(" ".join(EDITIONS))'); do
  if compgen -G "submitted/*/$assignment" >/dev/null; then
    ASSIGNMENTS="$ASSIGNMENTS $assignment"
  fi
done
bash "$ROOT/scripts/release.sh" --gradebook "$COURSE" $ASSIGNMENTS >>"$LOG" 2>&1 || {
  tail -n 40 "$LOG" >&2
  exit 1
}
for assignment in $ASSIGNMENTS; do
  echo "nbgrader-demo: nbgrader autograde $assignment ($(compgen -G "submitted/*/$assignment" | wc -l) students)..." >&2
  for step in autograde generate_feedback; do
    nbgrader "$step" "$assignment" >>"$LOG" 2>&1 || {
      tail -n 40 "$LOG" >&2
      echo "nbgrader-demo: nbgrader $step $assignment failed (log: $LOG)" >&2
      exit 1
    }
  done
done
nbgrader export --to "$COURSE/grades.csv" >>"$LOG" 2>&1 || {
  tail -n 40 "$LOG" >&2
  exit 1
}
python - "$COURSE" <<'EOF'
"""Print the demo's nbgrader scores, one row per submission (student and assignment)."""
import csv
import sys
from pathlib import Path

course = Path(sys.argv[1])
rows = list(csv.DictReader(open(course / "grades.csv", encoding="utf-8")))
print(f"{'student':<20} {'assignment':<24} {'score':>6} / max")
for row in rows:
    if (course / "submitted" / row["student_id"] / row["assignment"]).is_dir():
        print(f"{row['student_id']:<20} {row['assignment']:<24} {float(row['score']):6.1f} / {float(row['max_score']):.0f}")
EOF
cat <<EOF

The demo course: $COURSE (a throw-away copy; delete it when done)
  autograded notebooks: $COURSE/autograded/, feedback: $COURSE/feedback/, scores: $COURSE/grades.csv
  nbgrader's log: $LOG (display_data_priority and SAWarning lines are harmless)
  grade the written answers by hand: cd $COURSE && nbgrader formgrader
The written answers (6 points) score 0 until graded by hand, so a full submission shows 44 / 50.
EOF
