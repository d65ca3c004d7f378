#!/usr/bin/env bash
# Installs the native library the library loads at run time that no NuGet package brings, idempotently (safe to run
# again; it only installs what is missing): libjpeg-turbo's TurboJPEG (Debian package libturbojpeg0), with apt-get.
# ONNX Runtime is not installed here: it comes with the Microsoft.ML.OnnxRuntime NuGet package at build time.
set -euo pipefail

if [ "$(uname -s)" != "Linux" ]; then
  echo "[install-native] only Linux is supported by this script (this is $(uname -s))" >&2
  exit 1
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
