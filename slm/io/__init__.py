"""Checkpoints without PyTorch: safetensors, PyTorch zip/legacy pickles (restricted unpickler), Hugging Face folders."""
