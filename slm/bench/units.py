"""Unit BPE workloads: learning merges over a unit corpus and encoding with them, against
Hugging Face `tokenizers` (a BPE model trained on the units written as one character
each, the usual way to run text BPE over speech units). The two learn the same kind of
merges but break ties differently, so their merge lists are not identical; the times
compare the same amount of work (merges learned, units encoded)."""
from __future__ import annotations

import numpy as np

from .harness import Workload

_BASE = 0x4E00  # unit u -> chr(_BASE + u): one CJK character per unit, no normalisation issues


def _corpus(n, k=100, seed=0):
    """about n units (deduplicated: no two equal neighbours) in sequences of 500"""
    from slm.tokenizers import dedup
    u = np.random.default_rng(seed).integers(0, k, n)
    return [dedup(u[i:i + 500])[0] for i in range(0, n, 500)]


def _hf_trainer(merges, k):
    from tokenizers import Tokenizer, models, trainers
    alphabet = [chr(_BASE + i) for i in range(k)]

    def train(texts):
        tok = Tokenizer(models.BPE())
        tr = trainers.BpeTrainer(vocab_size=k + merges, min_frequency=2, initial_alphabet=alphabet,
                                 show_progress=False, limit_alphabet=k)
        tok.train_from_iterator(texts, tr)
        return tok
    return train


def _train(n, merges, k=100):
    def setup():
        from slm.tokenizers import UnitBPE
        seqs = _corpus(n, k)
        texts = ["".join(chr(_BASE + int(v)) for v in s) for s in seqs]
        hf = _hf_trainer(merges, k)
        return (lambda: UnitBPE.train(seqs, num_merges=merges, base_vocab=k, dedup=False)), {
            "tokenizers": lambda: hf(texts)}
    return Workload(f"unit BPE train {merges} merges", f"{n // 1000}k units, K={k}", setup)


def _encode(n, merges, k=100):
    def setup():
        from slm.tokenizers import UnitBPE
        seqs = _corpus(n, k)
        bpe = UnitBPE.train(seqs, num_merges=merges, base_vocab=k, dedup=False)
        texts = ["".join(chr(_BASE + int(v)) for v in s) for s in seqs]
        hf = _hf_trainer(merges, k)(texts)
        return (lambda: [bpe.encode(s) for s in seqs]), {"tokenizers": lambda: hf.encode_batch(texts)}
    return Workload(f"unit BPE encode ({merges} merges)", f"{n // 1000}k units, K={k}", setup)


def workloads(quick=False):
    if quick:
        return [_train(200_000, 300), _encode(200_000, 300)]
    return [_train(1_000_000, 1000), _encode(1_000_000, 1000)]
