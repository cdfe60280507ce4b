#!/usr/bin/env bash
# Regenerate release/<assignment>/ from source/<assignment>/ with nbgrader, byte-stable, for every
# assignment the course registers (autograder/config.py EDITIONS: each unit's English edition and
# its Chinese one, e.g. softmax_regression and softmax_regression_zh; a Chinese edition's source
# is made by scripts/make_zh_edition.py). Each must have its source/<assignment>/ folder.
#
# Usage: bash scripts/release.sh [--gradebook] [COURSE_DIR [ASSIGNMENT...]]
#   COURSE_DIR: default the repository (= course root); ASSIGNMENT: only these editions (default:
#   every one config.EDITIONS registers; scripts/nbgrader-demo.sh records only its students' ones)
#
# 1. `nbgrader generate_assignment <assignment> --force` in COURSE_DIR, for each edition, all in one process
#    (scripts/release_all.py, which also does step 2). By default with a throw-away
#    gradebook, so nothing is left behind. With --gradebook the assignment is recorded in the
#    course's gradebook (NBGRADER_DB_URL, else COURSE_DIR/gradebook.db, see nbgrader_config.py),
#    which `nbgrader autograde` needs: plain `nbgrader generate_assignment` skips an assignment
#    whose release/ folder exists and then records nothing. nbgrader strips the solutions
#    and hidden tests, clears outputs, locks cells, adds checksums, and copies the other files of
#    source/<assignment>/ (the unit's helpers, e.g. fashion_mnist.py) next to the notebooks.
# 2. Normalise what would otherwise vary with the Jupyter front end that last saved source/:
#    notebook metadata is reduced to the kernelspec and the language name (no language_info.version,
#    widgets, toc...); cell metadata keeps only nbgrader, deletable, editable and tags (no execution
#    timings, collapsed/scrolled, jupyter.source_hidden...); code cells have no outputs and no
#    execution counts. Notebooks are rewritten with nbformat (sorted keys, one-space indent,
#    trailing newline). Running the script twice gives identical bytes. Each notebook's metadata
#    records what it was generated from (softmax_release) and keeps its edition (softmax_course).
# tests/course/test_release.py runs this script on a copy of the course and compares with release/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RECORD=0
if [ "${1:-}" = "--gradebook" ]; then
  RECORD=1
  shift
fi
COURSE="$(cd "${1:-$ROOT}" && pwd)"
[ "$#" -gt 0 ] && shift
if ! command -v nbgrader >/dev/null 2>&1; then
  source "$ROOT/scripts/bootstrap.sh"
fi
# (importing autograder.units registers the units of SOFTMAX_UNITS_PATH too)
ASSIGNMENTS="$(cd "$ROOT" && python -c 'from autograder import config, units; print(" ".join(config.EDITIONS))')"
if [ "$#" -gt 0 ]; then
  for ASSIGNMENT in "$@"; do
    case " $ASSIGNMENTS " in
      *" $ASSIGNMENT "*) ;;
      *) echo "release.sh: no assignment '$ASSIGNMENT' (config.EDITIONS registers: $ASSIGNMENTS)" >&2; exit 2 ;;
    esac
  done
  ASSIGNMENTS="$*"
fi
for ASSIGNMENT in $ASSIGNMENTS; do
  if [ ! -d "$COURSE/source/$ASSIGNMENT" ]; then
    echo "release.sh: $COURSE/source/$ASSIGNMENT/ is missing (config.EDITIONS registers $ASSIGNMENT)" >&2
    exit 1
  fi
done

cd "$COURSE"
# One process for every edition (scripts/release_all.py): nbgrader and Jupyter are imported once.
if [ "$RECORD" = 1 ]; then
  python "$ROOT/scripts/release_all.py" --gradebook $ASSIGNMENTS
else
  python "$ROOT/scripts/release_all.py" $ASSIGNMENTS
fi
