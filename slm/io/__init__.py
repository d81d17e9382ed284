"""Checkpoints without PyTorch: safetensors, PyTorch zip/legacy pickles (restricted
unpickler), Hugging Face folders.

    sd = slm.io.load_state_dict("model.safetensors")     # or .pt/.bin/.pth, or a folder
    cfg, sd = slm.io.load_hf_folder("path/to/hf-model")
    slm.io.save_state_dict("out.safetensors", sd)

Tensors come back as NumPy arrays, by default read-only views of a memory mapping of the
file (zero-copy); bf16/float8 are upcast to float32. See docs/checkpoints.md for the
formats, the unpickler's security model and the errors.
"""
import os

from ._common import CheckpointError, UnsafePickleError
from .hf import folder_model_type, load_hf_folder
from .pytorch import is_torch_legacy, is_torch_zip, load_torch
from .safetensors import SafeOpen, load_safetensors, safe_open, save_safetensors

__all__ = ["load_state_dict", "save_state_dict", "load_safetensors", "save_safetensors",
           "safe_open", "SafeOpen", "load_torch", "load_hf_folder", "folder_model_type", "CheckpointError",
           "UnsafePickleError", "checkpoint_kind"]


def checkpoint_kind(path):
    """'folder', 'safetensors', 'torch-zip' or 'torch-legacy' by content (not by
    extension); CheckpointError for anything else."""
    path = os.fspath(path)
    if os.path.isdir(path):
        return "folder"
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such file or folder")
    with open(path, "rb") as f:
        head = f.read(9)
    # safetensors: an 8-byte length, then a JSON object. Byte 8 of a torch zip is its
    # first member's compression method (0), of a legacy file a byte of the magic number.
    if len(head) == 9 and head[8:9] == b"{":
        return "safetensors"
    if is_torch_zip(path):
        return "torch-zip"
    if is_torch_legacy(path):
        return "torch-legacy"
    raise CheckpointError(f"{path}: not a known checkpoint (safetensors, torch.save zip or "
                          "legacy, or a Hugging Face folder)")


def load_state_dict(path, mmap=True, upcast=True):
    """Load tensors from any checkpoint kind slm reads -> {name: np.ndarray} (for a
    torch.save file: whatever object was saved, tensors as arrays). A folder loads as
    load_hf_folder and its config is dropped."""
    kind = checkpoint_kind(path)
    if kind == "folder":
        return load_hf_folder(path, mmap=mmap, upcast=upcast)[1]
    if kind == "safetensors":
        return load_safetensors(path, mmap=mmap, upcast=upcast)
    return load_torch(path, mmap=mmap, upcast=upcast)


def save_state_dict(path, tensors, metadata=None):
    """Save {name: array} as safetensors (the only format slm writes: it holds no code).
    The extension is not checked; .safetensors is the convention."""
    save_safetensors(path, tensors, metadata=metadata)
