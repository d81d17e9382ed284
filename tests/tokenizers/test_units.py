"""Tests for slm.tokenizers dedup/repeat and UnitBPE: property tests, a hand-checked example,
equivalence with a naive full-recount BPE written here, bad input, save/load."""
import numpy as np
import pytest

from slm.tokenizers import UnitBPE, dedup, repeat


# ---------------------------------------------------------------- dedup / repeat
@pytest.mark.parametrize("seed", range(20))
def test_dedup_properties(seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, rng.integers(1, 6), rng.integers(0, 300))
    u, d = dedup(x)
    assert u.dtype == np.int64 and d.dtype == np.int64
    assert d.sum() == len(x) and (d >= 1).all()
    assert not (u[1:] == u[:-1]).any()
    assert np.array_equal(repeat(u, d), x)


def test_dedup_example_batch_empty():
    u, d = dedup(np.array([5, 5, 1, 1, 1, 5], np.int32))
    assert u.tolist() == [5, 1, 5] and d.tolist() == [2, 3, 1]
    out = dedup([np.array([1, 1]), np.array([2, 3, 3])])
    assert [a.tolist() for a, _ in out] == [[1], [2, 3]] and [b.tolist() for _, b in out] == [[2], [1, 2]]
    u, d = dedup(np.zeros(0, np.int64))
    assert u.size == 0 and d.size == 0
    assert repeat(u, d).size == 0


def test_dedup_bad_input():
    with pytest.raises(ValueError):
        dedup(np.array([1, -1, 2]))
    with pytest.raises(TypeError):
        dedup(np.array([1.0, 2.0]))
    with pytest.raises(ValueError):
        dedup(np.zeros((2, 2), np.int64))
    with pytest.raises(ValueError):
        repeat(np.array([1, 2]), np.array([1]))
    with pytest.raises(ValueError):
        repeat(np.array([1, 2]), np.array([1, -1]))
    with pytest.raises(MemoryError):
        repeat(np.array([1]), np.array([2**50]))
    assert dedup(np.array([3, 3]))[1].tolist() == [2]  # still works


# ---------------------------------------------------------------- naive reference BPE
def naive_train(seqs, base, num_merges, min_freq):
    words = [list(s) for s in seqs]
    merges = []
    for r in range(num_merges):
        counts = {}
        for w in words:
            for a, b in zip(w, w[1:]):
                counts[(a, b)] = counts.get((a, b), 0) + 1
        if not counts:
            break
        best = min(counts, key=lambda p: (-counts[p], p))  # most frequent, then smallest pair
        if counts[best] < min_freq:
            break
        merges.append(best)
        words = [naive_apply(w, best, base + r) for w in words]
    return merges


def naive_apply(w, pair, new):
    out, i = [], 0
    while i < len(w):
        if i + 1 < len(w) and (w[i], w[i + 1]) == pair:
            out.append(new)
            i += 2
        else:
            out.append(w[i])
            i += 1
    return out


def naive_encode(units, base, merges):
    w = list(units)
    for r, p in enumerate(merges):
        w = naive_apply(w, p, base + r)
    return w


@pytest.mark.parametrize("seed", range(12))
def test_bpe_matches_naive(seed):
    rng = np.random.default_rng(seed)
    base = int(rng.integers(2, 8))
    seqs = [rng.integers(0, base, rng.integers(0, 80)) for _ in range(int(rng.integers(1, 6)))]
    seqs[0] = np.append(seqs[0], 0)  # never an empty corpus
    dedup_first = bool(seed % 2)
    ref_seqs = [dedup(s)[0] if dedup_first and len(s) else s for s in seqs]
    mf = int(rng.integers(1, 3))
    want = naive_train(ref_seqs, base, 30, mf)
    bpe = UnitBPE.train(seqs, num_merges=30, base_vocab=base, min_frequency=mf, dedup=dedup_first)
    assert bpe.merges == want
    for s in seqs + [rng.integers(0, base, 200)]:
        t = bpe.encode(s)
        assert t.tolist() == naive_encode(s.tolist(), base, want)
        assert np.array_equal(bpe.decode(t), s)


def test_bpe_hand_example():
    # 0 1 0 1 2 0 1 2: pairs (0,1)x3, (1,0)x1, (1,2)x2, (2,0)x1 -> merge (0,1) = 3
    # then 3 3 2 3 2: (3,3)x1, (3,2)x2, (2,3)x1 -> (3,2) = 4
    # then 3 4 4: (3,4)x1, (4,4)x1: tie, smallest pair (3,4) = 5 -> 5 4 -> (5,4) = 6
    bpe = UnitBPE.train(np.array([0, 1, 0, 1, 2, 0, 1, 2]), num_merges=10, base_vocab=3, min_frequency=1)
    assert bpe.merges == [(0, 1), (3, 2), (3, 4), (5, 4)]
    assert bpe.vocab_size == 7
    assert bpe.encode([0, 1, 0, 1, 2, 0, 1, 2]).tolist() == [6]
    # overlapping pairs: 0 0 0 merges left to right
    b2 = UnitBPE(2, [(0, 0)])
    assert b2.encode([0, 0, 0]).tolist() == [2, 0]
    # min_frequency stops training
    assert UnitBPE.train([np.array([0, 1, 2])], vocab_size=10, base_vocab=3).merges == []


def test_bpe_durations():
    rng = np.random.default_rng(1)
    bpe = UnitBPE.train([rng.integers(0, 4, 500) for _ in range(3)], vocab_size=20, base_vocab=4)
    u, d = dedup(rng.integers(0, 4, 300))
    t, td = bpe.encode_with_durations(u, d)
    assert np.array_equal(t, bpe.encode(u)) and td.sum() == d.sum()
    u2, d2 = bpe.decode_with_durations(t, td, d)
    assert np.array_equal(u2, u) and np.array_equal(d2, d)
    u3, d3 = bpe.decode_with_durations(t, td)
    assert np.array_equal(u3, u) and d3.sum() == d.sum()
    with pytest.raises(ValueError):
        bpe.decode_with_durations(t, td + 1, d)
    with pytest.raises(ValueError):
        bpe.encode_with_durations(u, d[:-1])


def test_bpe_bad_input_and_save_load(tmp_path):
    bpe = UnitBPE.train([np.array([0, 1, 0, 1, 0, 1])], vocab_size=5, base_vocab=2)
    with pytest.raises(ValueError):
        bpe.decode([bpe.vocab_size])
    with pytest.raises(ValueError):
        bpe.decode([-1])
    with pytest.raises(ValueError):
        bpe.encode([0, 2])
    with pytest.raises(TypeError):
        bpe.encode(np.array([0.5]))
    with pytest.raises(ValueError):
        UnitBPE.train([np.array([0, 1])], vocab_size=1, base_vocab=2)
    with pytest.raises(ValueError):
        UnitBPE.train([], vocab_size=3, base_vocab=2)
    with pytest.raises(ValueError):
        UnitBPE.train([np.array([0, 5])], vocab_size=3, base_vocab=2)
    with pytest.raises(ValueError):
        UnitBPE(2, [(0, 9)])
    assert bpe.decode(bpe.encode([0, 1, 0])).tolist() == [0, 1, 0]  # usable after errors
    f = tmp_path / "bpe.json"
    bpe.save(f)
    b2 = UnitBPE.load(f)
    assert b2.merges == bpe.merges and b2.base_vocab == bpe.base_vocab
    (tmp_path / "bad.json").write_text('{"format": "other"}')
    with pytest.raises(ValueError):
        UnitBPE.load(tmp_path / "bad.json")


def test_bpe_train_speed():
    import time
    x = np.random.default_rng(0).integers(0, 100, 200_000)
    t = time.perf_counter()
    bpe = UnitBPE.train(x, num_merges=200, base_vocab=100)
    assert time.perf_counter() - t < 5
    assert len(bpe.merges) == 200
