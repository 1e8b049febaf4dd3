#!/usr/bin/env bash
# Does the InfoNCE text-motion term (loss.contrastive, after TMR) help retrieval? Two trainings of
# a tiny model on the small configuration's data, identical but for loss.contrastive (0 and
# $CONTRASTIVE), run side by side with one thread each, then both evaluated on the test split; the
# metrics are printed side by side.
#
#   training/ablations/infonce.sh STEPS [--set SECTION.KEY=VALUE ...]
#
# Extra arguments go to every command (e.g. --set train.batch_size=64). Environment: PYTHON (the
# interpreter, default python), OUT (default runs/infonce; each run in OUT/infonce-off and
# OUT/infonce-on, its output in OUT/NAME.log; training refuses to replace an earlier run there,
# so a second go needs another OUT), CACHE (data.cache, default .cache/prepared: the
# prepared data, caption embeddings and the evaluation's action classifier, made once and shared),
# CONTRASTIVE (the weight of the "on" run, default 0.1 as in small.toml).
set -euo pipefail

steps=${1:?usage: training/ablations/infonce.sh STEPS [--set SECTION.KEY=VALUE ...]}
shift
cd "$(dirname "$0")/../.."
python=${PYTHON:-python}
out=${OUT:-runs/infonce}
common=(
    --config training/configs/small.toml
    --set "data.cache='${CACHE:-.cache/prepared}'"
    --set model.width=128 --set model.layers=2 --set model.feedforward=256
    --set "train.steps=$steps" --set train.progress=false
    "$@"
)
export OMP_NUM_THREADS=1
mkdir -p "$out"

run_training() {  # NAME WEIGHT
    "$python" -m training.train "${common[@]}" \
        --set "loss.contrastive=$2" --set "train.out='$out/$1'"
}

run_evaluation() {  # NAME
    "$python" -m training.evaluate "${common[@]}" --checkpoint "$out/$1/model.pt" --split test
}

both() {  # FUNCTION: for both runs at once, each with its own log; prints the seconds taken
    local started=$SECONDS pids=()
    "$1" infonce-off 0 >>"$out/infonce-off.log" 2>&1 &
    pids+=($!)
    "$1" infonce-on "${CONTRASTIVE:-0.1}" >>"$out/infonce-on.log" 2>&1 &
    pids+=($!)
    for pid in "${pids[@]}"; do
        if ! wait "$pid"; then
            kill "${pids[@]}" 2>/dev/null || true
            echo "$1 failed; see $out/infonce-*.log" >&2
            exit 1
        fi
    done
    echo "$1: $((SECONDS - started)) s"
}

both run_training
both run_evaluation

"$python" - "$out" <<'EOF'
import json
import sys
from pathlib import Path

runs = [json.loads(Path(sys.argv[1], name, "evaluation-test.json").read_text())
        for name in ("infonce-off", "infonce-on")]
print(f"{'test split':32} {'InfoNCE off':>12} {'InfoNCE on':>12}")
for metric in runs[0]:
    print(f"{metric:32} {runs[0][metric]:12.4g} {runs[1][metric]:12.4g}")
EOF
