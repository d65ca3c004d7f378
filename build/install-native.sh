#!/usr/bin/env bash
# Installs the native libraries the library loads at run time, idempotently (safe to run again; it only fetches what
# is missing or broken):
#   - ONNX Runtime 1.30 for linux-x64, taken from the npm package onnxruntime-node@1.30.0: `npm pack` downloads the
#     tarball only (no dependency install, and --ignore-scripts: its install script, which would fetch GPU parts, never
#     runs), then only package/bin/napi-v6/linux/x64/libonnxruntime.so.1 is extracted;
#   - libjpeg-turbo's TurboJPEG (Debian package libturbojpeg0), with apt-get.
# The ONNX Runtime library lands in <repo>/.native/linux-x64/ (or in $UFLOW_NATIVE_DIR when set), where the library
# looks for it; the build also copies it next to the assemblies of every project that references the library.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${UFLOW_NATIVE_DIR:-$repo/.native/linux-x64}"
ort_version=1.30.0
ort_lib="$dest/libonnxruntime.so.1"

is_elf() { [ -s "$1" ] && [ "$(head -c 4 "$1" | od -An -c | tr -d ' ')" = "177ELF" ]; }

if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "[install-native] only linux-x64 is supported by this script (this is $(uname -s)-$(uname -m))" >&2
  exit 1
fi

if is_elf "$ort_lib"; then
  echo "[install-native] ONNX Runtime already at $ort_lib"
else
  command -v npm >/dev/null || { echo "[install-native] npm is needed to fetch onnxruntime-node@$ort_version (install Node.js/npm)" >&2; exit 1; }
  echo "[install-native] fetching onnxruntime-node@$ort_version from npm (native library only)"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent --ignore-scripts "onnxruntime-node@$ort_version" >/dev/null)
  tar -xzf "$tmp/onnxruntime-node-$ort_version.tgz" -C "$tmp" package/bin/napi-v6/linux/x64/libonnxruntime.so.1
  is_elf "$tmp/package/bin/napi-v6/linux/x64/libonnxruntime.so.1" || { echo "[install-native] the npm package did not contain a valid libonnxruntime.so.1" >&2; exit 1; }
  mkdir -p "$dest"
  cp "$tmp/package/bin/napi-v6/linux/x64/libonnxruntime.so.1" "$ort_lib.tmp.$$"
  mv -f "$ort_lib.tmp.$$" "$ort_lib"   # atomic: a half-copied library is never left at the final path
  echo "[install-native] ONNX Runtime $ort_version installed at $ort_lib"
fi

have_turbojpeg() {
  local cache f
  # Capture first: with pipefail, `ldconfig -p | grep -q` can fail when grep exits early and ldconfig gets SIGPIPE.
  cache="$( (ldconfig -p || /sbin/ldconfig -p) 2>/dev/null || true)"
  case "$cache" in *libturbojpeg.so.0*) return 0 ;; esac
  for f in /usr/lib/x86_64-linux-gnu/libturbojpeg.so.0 /lib/x86_64-linux-gnu/libturbojpeg.so.0 /usr/lib64/libturbojpeg.so.0 /usr/lib/libturbojpeg.so.0; do
    [ -e "$f" ] && return 0
  done
  return 1
}

if have_turbojpeg; then
  echo "[install-native] libturbojpeg.so.0 already installed"
else
  echo "[install-native] installing libturbojpeg0 with apt-get"
  command -v apt-get >/dev/null || { echo "[install-native] apt-get not found: install libjpeg-turbo's TurboJPEG library (libturbojpeg.so.0) with your package manager" >&2; exit 1; }
  if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq libturbojpeg0 >/dev/null
fi
