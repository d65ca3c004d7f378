#!/usr/bin/env bash
# One command from a fresh clone to a trained and evaluated model:
#   1. restores the NuGet packages (ML.NET, ONNX Runtime, TorchSharp with libtorch, SkiaSharp: nothing else to install);
#   2. builds the uflow CLI (Release);
#   3. trains U-Flow with the CLI's defaults (ResNet-50 v2 features, at most 6 epochs) on MVTec AD bottle;
#   4. evaluates it on the bottle test set, writing metrics JSON and the HTML report.
# Environment: UFLOW_SHARED (default <repo>/../shared), UFLOW_OUT (default <repo>/out/bottle), UFLOW_EPOCHS (default: the CLI's).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
shared="${UFLOW_SHARED:-$repo/../shared}"
out="${UFLOW_OUT:-$repo/out/bottle}"
data="$shared/data/mvtec_ad/bottle"
backbone="$shared/models/resnet50v2_imagenet_layer1-3.onnx"

for needed in "$data" "$backbone"; do
  if [ ! -e "$needed" ]; then
    echo "[setup] missing $needed (set UFLOW_SHARED to the folder holding data/ and models/)" >&2
    exit 2
  fi
done

echo "[setup] building the CLI"
dotnet build "$repo/src/Microsoft.ML.UFlow.Cli" -c Release -nologo -v quiet
uflow="$repo/src/Microsoft.ML.UFlow.Cli/bin/Release/net10.0/uflow"

mkdir -p "$out"
epochs=()
if [ -n "${UFLOW_EPOCHS:-}" ]; then epochs=(--epochs "$UFLOW_EPOCHS"); fi

echo "[setup] training U-Flow on $data"
start=$(date +%s)
"$uflow" train --data "$data" --backbone "$backbone" "${epochs[@]}" --out "$out/model.zip"
echo "[setup] evaluating"
"$uflow" eval --model "$out/model.zip" --data "$data" --json "$out/metrics.json" --report "$out/report"
end=$(date +%s)
echo "[setup] train + eval took $((end - start)) s"
echo "[setup] metrics: $out/metrics.json"
echo "[setup] report:  $out/report/index.html"
