#!/usr/bin/env bash
# Queue the grading array and its merge: bash deploy/slurm/submit.sh [SUBMITTED [OUT [SHARDS]]]
# (from the course root; defaults: submitted, grades, 4). Prints both job ids.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export COURSE="$(cd "$HERE/../.." && pwd)"
export SUBMITTED="$(realpath "${1:-submitted}")" OUT="$(realpath -m "${2:-grades}")"
export SHARDS="${3:-4}"
array=$(sbatch --parsable --export=ALL --array="1-$SHARDS" "$HERE/grade-array.sbatch")
merge=$(sbatch --parsable --export=ALL --dependency="afterany:${array%%;*}" "$HERE/merge.sbatch")
echo "grading: job array $array ($SHARDS shards); merge: job $merge (after the array)"
