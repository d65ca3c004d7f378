#!/usr/bin/env bash
# Quality benchmark of U-Flow (docs/RESULTS.md): trains with the paper's procedure (METHOD.md A.5) and evaluates every
# metric of Part B on the test split after each epoch. Usage, from the repository root:
#
#   bench/quality.sh <config> [extra uflow options, e.g. --max-minutes 80]
#
# configs: bottle-mobilenetv2 | bottle-resnet50v2 | mtd-mobilenetv2 | mtd-resnet50v2 (paper procedure),
#          bottle-mobilenetv2-anomalib | bottle-resnet50v2-anomalib (anomalib's default lr 1e-3, batch 32)
# Outputs: $OUT/<config>.csv (metric-vs-epoch curve, flushed every epoch), $OUT/<config>.json (summary),
# $OUT/<config>.log (console) and $OUT/<config>.time (GNU time -v: wall time and peak resident memory).
# Environment: OUT (default bench-results/quality), DATA (default ../shared/data), MODELS (default ../shared/models),
# CACHE (feature cache, default $OUT/cache), UFLOW_DLL (a copied build, so that rebuilding does not disturb long runs),
# INPUT_SIZE (square input side, default 256; the paper's ResNet ablation used 448, METHOD.md A.2.2; other sizes add
# "-<size>" to the run name), BATCH (overrides the config's batch, e.g. where 448 does not fit in memory; adds "-b<batch>"),
# LAYERS (overrides the backbone outputs, e.g. layer2_act,layer3_act for a subset; adds "-<layers>" with commas as "+").
# --under-dispersion-guard (the opt-in NFA guard of METHOD.md A.7.8, not the official code) adds "-guard" to the name.
# Long runs across sessions: add --checkpoint FILE (the training state is saved there after every epoch); later, the
# same command with --checkpoint FILE --resume continues the run where it stopped, appending to its CSV and log;
# --checkpoint FILE --evaluate-only [--under-dispersion-guard] evaluates the saved flow once without training.
# --held-out F holds out that share of the training images (evaluated every epoch, in the CSV; adds "-ho<F>"), with
# --calibration held-out the per-epoch NFA is calibrated on them (adds "-cal"); --checkpoint FILE --evaluate-only
# --held-out F gives the checkpoint's NFA metrics without and with that calibration (before/after, <run>.eval.json).
set -euo pipefail
config=${1:?usage: bench/quality.sh <bottle-mobilenetv2|bottle-resnet50v2|bottle-mobilenetv2-anomalib|bottle-resnet50v2-anomalib|mtd-mobilenetv2|mtd-resnet50v2> [uflow options]}
shift
OUT=${OUT:-bench-results/quality}
DATA=${DATA:-../shared/data}
MODELS=${MODELS:-../shared/models}
CACHE=${CACHE:-$OUT/cache}
INPUT_SIZE=${INPUT_SIZE:-256}
BATCH=${BATCH:-}
LAYERS=${LAYERS:-}
mkdir -p "$OUT"

dll=${UFLOW_DLL:-src/Microsoft.ML.UFlow.Cli/bin/Release/net10.0/uflow.dll}
[[ -f $dll ]] || dotnet build src/Microsoft.ML.UFlow.Cli -c Release

# Hyper-parameters (METHOD.md A.5): bottle uses the official configs/bottle.yaml (lr 1.1289990475381853e-4, batch 23,
# 200 epochs, run as max_epochs = 201); MTD has no official config, so configs/mvtec_default.yaml (lr 1e-4, batch 8,
# 200 epochs -> 201). Adam weight decay 1e-5, LinearLR(1 -> 0.4 over 25 000 epoch steps), early stopping on the
# test pixel AUROC with patience 20 (all defaults of 'uflow bench quality'). Input $INPUT_SIZE (256), evaluation at 256.
bottle=(--data "$DATA/mvtec_ad/bottle" --lr 1.1289990475381853e-4 --batch 23 --epochs 201)
# anomalib's U-Flow defaults (lr 1e-3, batch 32, weight decay 1e-5, 200 epochs, early stopping patience 20 on pixel
# AUROC): a published alternative, not tuned here; used to see how fast the flow converges with a 10x larger step.
bottle_anomalib=(--data "$DATA/mvtec_ad/bottle" --lr 1e-3 --batch 32 --epochs 201)
mtd=(--data "$DATA/mtd" --lr 1e-4 --batch 8 --epochs 201)
mobilenet=(--backbone "$MODELS/mobilenetv2_1.0_imagenet_features.onnx" --layers stride4,stride8,stride16)
resnet=(--backbone "$MODELS/resnet50v2_imagenet_layer1-3.onnx" --layers layer1_act,layer2_act,layer3_act)

case $config in
  bottle-mobilenetv2) args=("${bottle[@]}" "${mobilenet[@]}") ;;
  bottle-resnet50v2)  args=("${bottle[@]}" "${resnet[@]}") ;;
  bottle-mobilenetv2-anomalib) args=("${bottle_anomalib[@]}" "${mobilenet[@]}") ;;
  bottle-resnet50v2-anomalib)  args=("${bottle_anomalib[@]}" "${resnet[@]}") ;;
  mtd-mobilenetv2)    args=("${mtd[@]}" "${mobilenet[@]}") ;;
  mtd-resnet50v2)     args=("${mtd[@]}" "${resnet[@]}") ;;
  *) echo "unknown config '$config'" >&2; exit 2 ;;
esac
run=$config
[[ $INPUT_SIZE == 256 ]] || run+="-$INPUT_SIZE"
if [[ -n $BATCH ]]; then
  for i in "${!args[@]}"; do [[ ${args[$i]} == --batch ]] && args[$((i + 1))]=$BATCH; done
  run+="-b$BATCH"
fi
if [[ -n $LAYERS ]]; then
  for i in "${!args[@]}"; do [[ ${args[$i]} == --layers ]] && args[$((i + 1))]=$LAYERS; done
  run+="-${LAYERS//,/+}"
fi

for a in "$@"; do [[ $a == --under-dispersion-guard ]] && run+="-guard"; done
prev=
for a in "$@"; do
  [[ $prev == --held-out && $a != 0 ]] && run+="-ho$a"
  [[ $prev == --calibration && $a == held-out ]] && run+="-cal"
  prev=$a
done

# A run continued with --resume (and its --checkpoint) appends to its log; its curve CSV is continued by uflow itself.
# --evaluate-only (one evaluation of a checkpoint, no training) logs to <run>.eval.log and leaves the run's log alone.
tee_args=()
log=$OUT/$run.log
timing=$OUT/$run.time
for a in "$@"; do
  [[ $a == --resume ]] && tee_args=(-a)
  [[ $a == --evaluate-only ]] && { log=$OUT/$run.eval.log; timing=$OUT/$run.eval.time; }
done
/usr/bin/time -v -o "$timing" \
  dotnet "$dll" bench quality "${args[@]}" --input-size "$INPUT_SIZE" --seed 0 --cache "$CACHE" --name "$run" --out "$OUT/$run" "$@" \
  2>&1 | tee "${tee_args[@]}" "$log"
grep -E "Elapsed|Maximum resident" "$timing"
