#!/usr/bin/env bash
# Learning-rate grid of the fair RL study (docs/results-rl-study.md), seed 0, validation only.
# Usage: [STEPS=200] [CONFIG=…] [SFT_MODEL=…] [RUNS=runs/rl-grid] scripts/experiments/rl-grid.sh METHOD[:LOSS_TYPE] LR [LR …]
# Each run starts from the validation-chosen SFT model D (SFT_MODEL, not committed) and writes
# $RUNS/<method>[-<loss_type>]-lr<LR>/ (rl/metrics.jsonl holds the validation curve). CONFIG defaults to
# the Games study (configs/experiments/games-rl-study.json); the Beauty study sets it.
set -euo pipefail
cd "$(dirname "$0")/../.."
SFT_MODEL=${SFT_MODEL:-/work/models/games-sft-history03-dropout/final}
CONFIG=${CONFIG:-configs/experiments/games-rl-study.json}
RUNS=${RUNS:-runs/rl-grid}
mkdir -p "$RUNS"
spec=$1; shift
method=${spec%%:*}
loss=""; [[ $spec == *:* ]] && loss=${spec#*:}
for lr in "$@"; do
  name="$method${loss:+-$loss}-lr$lr${STEPS:+-steps$STEPS}"
  out="$RUNS/$name"
  [[ -f $out/final/model.safetensors ]] && { echo "skip $name (done)"; continue; }
  echo "$(date -u +%H:%M:%S) start $name"
  start=$(date +%s)
  nice -n 5 node dist/src/cli/main.js train --config "$CONFIG" \
    --set model.checkpoint="$SFT_MODEL" --set sft.max_steps=0 --set rl.method="$method" \
    ${loss:+--set rl.loss_type=$loss} --set rl.learning_rate="$lr" ${STEPS:+--set rl.max_steps=$STEPS} --set output_dir="$out" --quiet \
    > "$RUNS/$name.log" 2>&1
  echo "$(date -u +%H:%M:%S) done $name in $(( $(date +%s) - start )) s"
done
