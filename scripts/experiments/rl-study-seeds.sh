#!/usr/bin/env bash
# One seed of a study config's comparison (docs/results-rl-study.md), evaluated on validation
# only; run one per seed in parallel, then `fgrpo compare --config CONFIG …` with all seeds reuses
# the finished runs and writes the test table. Usage: rl-study-seeds.sh CONFIG OUTPUT SEED [METHODS]
set -euo pipefail
cd "$(dirname "$0")/../.."
SFT_MODEL=${SFT_MODEL:-/work/models/games-sft-history03-dropout/final}
config=$1 out=$2 seed=$3 methods=${4:-}
start=$(date +%s)
echo "$(date -u +%H:%M:%S) start seed $seed"
nice -n 5 node dist/src/cli/main.js compare --config "$config" --set model.checkpoint="$SFT_MODEL" --set sft.max_steps=0 \
  --seeds "$seed," ${methods:+--methods "$methods"} --split valid --examples 300 --output "$out" --quiet
echo "$(date -u +%H:%M:%S) done seed $seed in $(( $(date +%s) - start )) s"
