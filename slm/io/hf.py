"""Hugging Face model folders, offline: config.json plus the weights in whichever of the
four layouts transformers writes (looked for in this order):
model.safetensors, model.safetensors.index.json (shards), pytorch_model.bin,
pytorch_model.bin.index.json (shards). An index is {"metadata": ..., "weight_map":
{tensor name: shard file name}}; shards must sit in the folder itself.
"""
import json
import os

from ._common import CheckpointError
from .pytorch import load_torch
from .safetensors import load_safetensors

__all__ = ["load_hf_folder", "folder_model_type", "WEIGHT_FILES"]

WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                "pytorch_model.bin.index.json")


def _read_json(path):
    try:
        with open(path, "rb") as f:
            out = json.loads(f.read().decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise CheckpointError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(out, dict):
        raise CheckpointError(f"{path}: expected a JSON object, got {type(out).__name__}")
    return out


def _state_dict(obj, path):
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path}: holds a {type(obj).__name__}, not a state dict")
    return dict(obj)


def _load_one(path, mmap, upcast):
    if path.endswith(".safetensors"):
        return load_safetensors(path, mmap=mmap, upcast=upcast)
    return _state_dict(load_torch(path, mmap=mmap, upcast=upcast), path)


def folder_model_type(path):
    """config.json's model_type of a Hugging Face folder, or None (not a folder, no or
    unreadable config.json): what the model families' sniff() functions look at."""
    cfg = os.path.join(os.fspath(path), "config.json")
    if not os.path.isfile(cfg):
        return None
    try:
        with open(cfg) as f:
            d = json.load(f)
    except (OSError, ValueError):
        return None
    return d.get("model_type") if isinstance(d, dict) else None


def load_hf_folder(path, mmap=True, upcast=True):
    """Load a Hugging Face model folder -> (config dict, {name: np.ndarray}).

    Reads config.json (an empty dict when the folder has none) and the weights from the
    first of WEIGHT_FILES present; needs neither network nor transformers. mmap/upcast
    as in load_safetensors/load_torch. A folder with none of them raises
    FileNotFoundError listing what was looked for.
    """
    path = os.fspath(path)
    if not os.path.isdir(path):
        raise FileNotFoundError(f"{path}: not a folder")
    cfg_path = os.path.join(path, "config.json")
    config = _read_json(cfg_path) if os.path.isfile(cfg_path) else {}
    for name in WEIGHT_FILES:
        wpath = os.path.join(path, name)
        if not os.path.isfile(wpath):
            continue
        if not name.endswith(".index.json"):
            return config, _load_one(wpath, mmap, upcast)
        index = _read_json(wpath)
        wmap = index.get("weight_map")
        if not isinstance(wmap, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in wmap.items()):
            raise CheckpointError(f"{wpath}: weight_map must map tensor names to shard files")
        tensors = {}
        for shard in sorted(set(wmap.values())):
            if os.path.basename(shard) != shard or shard in ("", ".", ".."):
                raise CheckpointError(f"{wpath}: shard {shard!r} is not a file name in the folder")
            spath = os.path.join(path, shard)
            if not os.path.isfile(spath):
                raise CheckpointError(f"{wpath}: shard {shard} is missing from {path}")
            part = _load_one(spath, mmap, upcast)
            want = [k for k, v in wmap.items() if v == shard]
            lost = [k for k in want if k not in part]
            if lost:
                raise CheckpointError(f"{spath}: lacks tensors the index maps to it: "
                                      f"{lost[:5]}{' ...' if len(lost) > 5 else ''}")
            for k in want:
                tensors[k] = part[k]
        return config, tensors
    raise FileNotFoundError(f"{path}: no weights found; looked for {', '.join(WEIGHT_FILES)}")
