#!/usr/bin/env bash
# Makes TorchSharp's native library load where the system libstdc++ predates GCC 13.
#
# TorchSharp 0.107.0's libLibTorchSharp.so was built with GCC 13 and asks for one symbol at
# version GLIBCXX_3.4.32: std::ios_base_library_init(). Debian 12 and Ubuntu 22.04 ship
# libstdc++ from GCC 12 (up to GLIBCXX_3.4.30), so the first torch call fails to load it.
# Where that is the case, this script
#   1. compiles ios_init_shim.cpp into libsleeper_glibcxx_shim.so (one function),
#   2. with patchelf clears that symbol's version and adds the shim as a needed library
#      (found through the library's $ORIGIN runpath),
#   3. marks the GLIBCXX_3.4.32 requirement weak (mark_version_weak.c), so the loader
#      accepts the older libstdc++.
# Where libstdc++ already has GLIBCXX_3.4.32 it does nothing. It is idempotent, and the
# build runs it after every build and publish (see Directory.Build.targets).
#
# Usage: repair.sh WORK_DIR OUTPUT_DIR...   (each OUTPUT_DIR is searched for libLibTorchSharp.so)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$1; shift
symbol=_ZSt21ios_base_library_initv
version=GLIBCXX_3.4.32
shim=libsleeper_glibcxx_shim.so

libs=()
for dir in "$@"; do
  for cand in "$dir/runtimes/linux-x64/native/libLibTorchSharp.so" "$dir/libLibTorchSharp.so"; do
    [ -f "$cand" ] && libs+=("$cand")
  done
done
[ ${#libs[@]} -gt 0 ] || exit 0

system_libstdcxx=$(/sbin/ldconfig -p 2>/dev/null | awk '/libstdc\+\+\.so\.6 .*x86-64/ {print $NF; exit}')
[ -n "$system_libstdcxx" ] || system_libstdcxx=$(ls /usr/lib/x86_64-linux-gnu/libstdc++.so.6 /lib64/libstdc++.so.6 2>/dev/null | head -n1 || true)
if [ -n "$system_libstdcxx" ] && grep -q "$version" "$system_libstdcxx"; then
  exit 0   # libstdc++ is new enough: nothing to repair
fi

for tool in g++ gcc patchelf; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "error SLEEPER001: the system libstdc++ ($system_libstdcxx) lacks $version, which TorchSharp needs, and '$tool' is missing to repair it. Install it (Debian/Ubuntu: apt-get install g++ patchelf) and build again." >&2
    exit 1
  fi
done

mkdir -p "$work"
if [ ! -f "$work/$shim" ] || [ "$here/ios_init_shim.cpp" -nt "$work/$shim" ]; then
  g++ -O2 -shared -fPIC -o "$work/$shim" "$here/ios_init_shim.cpp"
fi
if [ ! -x "$work/mark_version_weak" ] || [ "$here/mark_version_weak.c" -nt "$work/mark_version_weak" ]; then
  gcc -O2 -o "$work/mark_version_weak" "$here/mark_version_weak.c"
fi

for lib in "${libs[@]}"; do
  dir=$(dirname "$lib")
  cp -f "$work/$shim" "$dir/$shim"
  if patchelf --print-needed "$lib" | grep -qx "$shim"; then
    continue   # already repaired
  fi
  patchelf --clear-symbol-version "$symbol" --add-needed "$shim" "$lib"
  "$work/mark_version_weak" "$lib" "$version"
  echo "SleeperLab: repaired $lib for a libstdc++ without $version"
done
