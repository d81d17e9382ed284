"""Deduplication of unit sequences with run-length durations, and unit BPE.

Speech units are small non-negative integers (k-means cluster ids, one per encoder frame).
``dedup`` collapses runs of equal neighbours into (units, durations) in C; ``repeat`` inverts it.
``UnitBPE`` learns byte-pair-encoding merges over unit sequences and applies them, in C
(csrc/tokenize/units_bpe.c); see docs/units.md.
"""
import json

import numpy as np

from .. import _C

__all__ = ["dedup", "repeat", "UnitBPE"]


def _as_units(units, fn, arg="units"):
    a = np.asarray(units)
    if a.size == 0 and a.dtype.kind == "f":
        a = a.astype(np.int64)  # np.asarray([]) is float64; an empty list is still a valid sequence
    if a.dtype.kind not in "iu":
        raise TypeError(f"{fn}: {arg} must have an integer dtype, got {a.dtype}")
    if a.ndim != 1:
        raise ValueError(f"{fn}: {arg} must be 1-D, got shape {a.shape}")
    if a.dtype == np.uint64 and a.size and a.max() > np.iinfo(np.int64).max:
        raise ValueError(f"{fn}: {arg} value {a.max()} does not fit int64")
    return np.ascontiguousarray(a, dtype=np.int64)


def dedup(units):
    """Collapse runs of equal consecutive units.

    units: 1-D integer array (n,) of values >= 0, or a list of such arrays (a batch).
    Returns (units (m,) int64, durations (m,) int64) where durations are the run lengths in
    frames (sum(durations) == n, no two equal neighbours in units); for a batch, a list of pairs.
    Raises TypeError for a non-integer dtype, ValueError for negative units.
    """
    if isinstance(units, (list, tuple)) and len(units) and not np.isscalar(units[0]):
        return [dedup(u) for u in units]
    return _C._units_dedup(_as_units(units, "dedup"))


def repeat(units, durations):
    """Inverse of dedup: each units[i] repeated durations[i] times (int64 (sum(durations),)).

    units, durations: 1-D integer arrays of equal length, durations >= 0 (a list of arrays for
    a batch gives a list of results).
    """
    if isinstance(units, (list, tuple)) and len(units) and not np.isscalar(units[0]):
        if len(units) != len(durations):
            raise ValueError(f"repeat: batch sizes differ ({len(units)} vs {len(durations)})")
        return [repeat(u, d) for u, d in zip(units, durations)]
    u = _as_units(units, "repeat")
    d = _as_units(durations, "repeat", "durations")
    if len(u) != len(d):
        raise ValueError(f"repeat: units and durations differ in length ({len(u)} vs {len(d)})")
    if d.size and d.min() < 0:
        raise ValueError(f"repeat: durations must be >= 0, got {d.min()}")
    total = int(d.sum(dtype=np.float64)) if d.size else 0
    if total > 2**40:
        raise MemoryError(f"repeat: sum(durations) = {total} is too large")
    return _C._units_repeat(u, d, int(d.sum()) if d.size else 0)


class UnitBPE:
    """Byte-pair encoding over speech-unit sequences.

    Base tokens are the units 0..base_vocab-1; merge number r (0-based) creates token
    base_vocab + r from the pair merges[r] = (a, b). Build one with ``UnitBPE.train`` or
    ``UnitBPE.load``, or from a merge list: ``UnitBPE(base_vocab, merges)``.
    """

    def __init__(self, base_vocab, merges=()):
        base_vocab = int(base_vocab)
        if base_vocab < 1:
            raise ValueError(f"UnitBPE: base_vocab must be >= 1, got {base_vocab}")
        self.base_vocab = base_vocab
        self.merges = []
        self._rank = {}
        self._expand = [np.array([u], np.int64) for u in range(base_vocab)]
        for r, (a, b) in enumerate(merges):
            a, b = int(a), int(b)
            n = base_vocab + r
            if not (0 <= a < n and 0 <= b < n):
                raise ValueError(f"UnitBPE: merge {r} = ({a}, {b}) uses a token id not below {n}")
            if (a, b) in self._rank:
                raise ValueError(f"UnitBPE: merge {r} = ({a}, {b}) repeats an earlier merge")
            self.merges.append((a, b))
            self._rank[(a, b)] = r
            self._expand.append(np.concatenate([self._expand[a], self._expand[b]]))

    @property
    def vocab_size(self):
        """base_vocab + number of merges."""
        return self.base_vocab + len(self.merges)

    def __repr__(self):
        return f"UnitBPE(base_vocab={self.base_vocab}, merges={len(self.merges)})"

    # ---------------------------------------------------------------- training
    @classmethod
    def train(cls, sequences, vocab_size=None, *, num_merges=None, base_vocab, min_frequency=2, dedup=True):
        """Learn merges over unit sequences.

        sequences: a 1-D integer array or a list of them, values in [0, base_vocab).
        vocab_size: final vocabulary size (>= base_vocab), or num_merges: number of merges (give one).
        base_vocab: number of base units (k-means clusters). min_frequency: stop when the most
        frequent pair occurs fewer times. dedup: collapse repeated units first (default True).
        Each step merges the most frequent adjacent pair (overlapping occurrences counted);
        ties go to the smallest pair (a, b) in lexicographic order. Occurrences are replaced
        left to right. Pair counts are updated incrementally with a lazy max-heap (in C).
        """
        base_vocab = int(base_vocab)
        if base_vocab < 1:
            raise ValueError(f"UnitBPE.train: base_vocab must be >= 1, got {base_vocab}")
        if (vocab_size is None) == (num_merges is None):
            raise ValueError("UnitBPE.train: give exactly one of vocab_size and num_merges")
        if vocab_size is not None:
            if int(vocab_size) < base_vocab:
                raise ValueError(f"UnitBPE.train: vocab_size must be >= base_vocab = {base_vocab}, got {vocab_size}")
            num_merges = int(vocab_size) - base_vocab
        num_merges = int(num_merges)
        if num_merges < 0:
            raise ValueError(f"UnitBPE.train: num_merges must be >= 0, got {num_merges}")
        if int(min_frequency) < 1:
            raise ValueError(f"UnitBPE.train: min_frequency must be >= 1, got {min_frequency}")
        seqs = _seq_list(sequences, "UnitBPE.train")
        if not seqs or sum(len(s) for s in seqs) == 0:
            raise ValueError("UnitBPE.train: empty corpus")
        parts = []
        for s in seqs:
            _check_range(s, base_vocab, "UnitBPE.train")
            if dedup and len(s):
                s = _C._units_dedup(s)[0]
            parts.append(s)
            parts.append(np.array([-1], np.int64))  # sequence separator: no pair crosses it
        tok = np.concatenate(parts)
        if base_vocab + num_merges >= 2**31:
            raise ValueError(f"UnitBPE.train: base_vocab + num_merges = {base_vocab + num_merges} must stay below 2^31")
        merges = _C._units_bpe_train(tok, base_vocab, num_merges, int(min_frequency))
        return cls(base_vocab, [(int(a), int(b)) for a, b in merges.tolist()])

    # ---------------------------------------------------------------- encode / decode
    def encode(self, units):
        """units (n,) in [0, base_vocab) -> tokens (m,) int64, merges applied by rank (lowest first,
        leftmost first within a rank), which equals applying each merge in learned order."""
        u = _as_units(units, "UnitBPE.encode")
        _check_range(u, self.base_vocab, "UnitBPE.encode")
        return _C._units_bpe_encode(u, None, self._merge_array(), self.base_vocab)[0]

    def encode_with_durations(self, units, durations):
        """(units (n,), durations (n,)) -> (tokens (m,), token_durations (m,)); a token's duration is
        the sum of the durations of the units it covers. Keep the per-unit durations yourself
        (they cannot be recovered from the sums) and pass them to decode_with_durations."""
        u = _as_units(units, "UnitBPE.encode_with_durations")
        d = _as_units(durations, "UnitBPE.encode_with_durations", "durations")
        if len(u) != len(d):
            raise ValueError(f"UnitBPE.encode_with_durations: units and durations differ in length ({len(u)} vs {len(d)})")
        if d.size and d.min() < 0:
            raise ValueError(f"UnitBPE.encode_with_durations: durations must be >= 0, got {d.min()}")
        _check_range(u, self.base_vocab, "UnitBPE.encode_with_durations")
        return _C._units_bpe_encode(u, d, self._merge_array(), self.base_vocab)

    def decode(self, tokens):
        """tokens (m,) in [0, vocab_size) -> units (n,) int64, exactly the encoded units."""
        t = _as_units(tokens, "UnitBPE.decode", "tokens")
        if t.size and (t.min() < 0 or t.max() >= self.vocab_size):
            bad = t[(t < 0) | (t >= self.vocab_size)][0]
            raise ValueError(f"UnitBPE.decode: unknown token id {bad} (vocab_size {self.vocab_size})")
        if not t.size:
            return np.zeros(0, np.int64)
        return np.concatenate([self._expand[i] for i in t.tolist()])

    def decode_with_durations(self, tokens, token_durations, unit_durations=None):
        """(tokens (m,), token_durations (m,)[, unit_durations (n,)]) -> (units (n,), durations (n,)).

        With unit_durations (as given to encode_with_durations) they are checked against the
        token durations (each token's units must sum to its duration) and returned: exact round
        trip. Without, each token's duration is split over its units as evenly as integers allow,
        the remainder going one frame each to the first units.
        """
        fn = "UnitBPE.decode_with_durations"
        t = _as_units(tokens, fn, "tokens")
        td = _as_units(token_durations, fn, "token_durations")
        if len(t) != len(td):
            raise ValueError(f"{fn}: tokens and token_durations differ in length ({len(t)} vs {len(td)})")
        if td.size and td.min() < 0:
            raise ValueError(f"{fn}: token_durations must be >= 0, got {td.min()}")
        units = self.decode(t)
        lens = np.array([len(self._expand[i]) for i in t.tolist()], np.int64)
        if unit_durations is not None:
            ud = _as_units(unit_durations, fn, "unit_durations")
            if len(ud) != len(units):
                raise ValueError(f"{fn}: unit_durations has length {len(ud)}, the tokens expand to {len(units)} units")
            sums = np.add.reduceat(ud, np.concatenate([[0], np.cumsum(lens)[:-1]])) if len(t) else ud[:0]
            if not np.array_equal(sums, td):
                k = int(np.nonzero(sums != td)[0][0])
                raise ValueError(f"{fn}: unit_durations of token {k} sum to {sums[k]}, token_durations says {td[k]}")
            return units, ud.copy()
        out = np.empty(len(units), np.int64)
        pos = 0
        for L, D in zip(lens.tolist(), td.tolist()):
            q, r = divmod(D, L)
            out[pos:pos + L] = q
            out[pos:pos + r] += 1
            pos += L
        return units, out

    def _merge_array(self):
        if getattr(self, "_marr", None) is None or len(self._marr) != len(self.merges):
            self._marr = np.array(self.merges, np.int64).reshape(-1, 2)
        return self._marr

    # ---------------------------------------------------------------- files
    def to_dict(self):
        return {"format": "slm-unit-bpe", "version": 1, "base_vocab": self.base_vocab,
                "merges": [[a, b] for a, b in self.merges]}

    def save(self, path):
        """Write the merges as JSON (see docs/units.md for the format)."""
        with open(path, "w") as f:
            json.dump(self.to_dict(), f)

    @classmethod
    def load(cls, path):
        """Read a file written by save."""
        with open(path) as f:
            d = json.load(f)
        if not isinstance(d, dict) or d.get("format") != "slm-unit-bpe" or d.get("version") != 1:
            raise ValueError(f"UnitBPE.load: {path} is not a version-1 slm-unit-bpe file")
        return cls(d["base_vocab"], d["merges"])


def _seq_list(sequences, fn):
    if isinstance(sequences, np.ndarray) and sequences.ndim == 1:
        return [_as_units(sequences, fn, "sequences")]
    return [_as_units(s, fn, "sequences") for s in sequences]


def _check_range(u, base_vocab, fn):
    if u.size and (u.min() < 0 or u.max() >= base_vocab):
        bad = u[(u < 0) | (u >= base_vocab)][0]
        raise ValueError(f"{fn}: unit {bad} is outside [0, base_vocab = {base_vocab})")
