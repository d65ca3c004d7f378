#!/usr/bin/env bash
# Installs the native libraries the library loads at run time, idempotently:
#   - ONNX Runtime 1.30 for linux-x64, taken from the npm package onnxruntime-node@1.30.0
#     (npm pack, then only package/bin/napi-v6/linux/x64/libonnxruntime.so.1; its install script is never run);
#   - libjpeg-turbo's TurboJPEG (Debian package libturbojpeg0).
# The ONNX Runtime library lands in <repo>/.native/linux-x64/, where the library looks for it first.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$repo/.native/linux-x64"
ort_version=1.30.0

if [ ! -f "$dest/libonnxruntime.so.1" ]; then
  echo "[install-native] fetching onnxruntime-node@$ort_version from npm (native library only)"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "onnxruntime-node@$ort_version" >/dev/null)
  tar -xzf "$tmp/onnxruntime-node-$ort_version.tgz" -C "$tmp" package/bin/napi-v6/linux/x64/libonnxruntime.so.1
  mkdir -p "$dest"
  cp "$tmp/package/bin/napi-v6/linux/x64/libonnxruntime.so.1" "$dest/libonnxruntime.so.1.tmp"
  mv "$dest/libonnxruntime.so.1.tmp" "$dest/libonnxruntime.so.1"
else
  echo "[install-native] ONNX Runtime already at $dest/libonnxruntime.so.1"
fi

if ! ldconfig -p 2>/dev/null | grep -q 'libturbojpeg\.so\.0'; then
  echo "[install-native] installing libturbojpeg0 with apt-get"
  if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq libturbojpeg0 >/dev/null
else
  echo "[install-native] libturbojpeg.so.0 already installed"
fi
