"""Tests for slm.tokenizers dedup/repeat and UnitBPE: property tests, a hand-checked example,
equivalence with a naive full-recount BPE written here and with the Python heap
implementation the C code replaced, bad input, save/load."""
import numpy as np
import pytest

from slm import _C
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


# ---------------------------------------------------------------- the Python heap implementation
# (slm's UnitBPE before it moved to C, csrc/tokenize/units_bpe.c): an oracle for larger
# corpora than the naive reference can handle
import heapq  # noqa: E402


def heap_encode(toks, durs, base, merges):
    rank = {tuple(p): r for r, p in enumerate(merges)}
    # linked list over positions + min-heap of (rank, position); stale entries are skipped
    n = len(toks)
    nxt = list(range(1, n + 1))
    prv = list(range(-1, n - 1))
    heap = [(rank[(toks[i], toks[i + 1])], i) for i in range(n - 1) if (toks[i], toks[i + 1]) in rank]
    heapq.heapify(heap)
    alive = [True] * n
    while heap:
        r, i = heapq.heappop(heap)
        if not alive[i]:
            continue
        j = nxt[i]
        if j >= n or rank.get((toks[i], toks[j])) != r:
            continue
        toks[i] = base + r
        if durs is not None:
            durs[i] += durs[j]
        alive[j] = False
        k = nxt[j]
        nxt[i] = k
        if k < n:
            prv[k] = i
            r2 = rank.get((toks[i], toks[k]))
            if r2 is not None:
                heapq.heappush(heap, (r2, i))
        p = prv[i]
        if p >= 0:
            r2 = rank.get((toks[p], toks[i]))
            if r2 is not None:
                heapq.heappush(heap, (r2, p))
    out = [toks[i] for i in range(n) if alive[i]]
    return out, (None if durs is None else [durs[i] for i in range(n) if alive[i]])


def heap_train(tok, base, num_merges, min_freq):
    # tok: units with -1 separators. Positions form a doubly linked list; merged-away positions
    # get tok = -2. count[pair] and where[pair] (set of left positions) are kept up to date; the
    # heap holds (-count, a, b) entries, stale ones are dropped when popped.
    n = len(tok)
    nxt = list(range(1, n + 1))
    prv = list(range(-1, n - 1))
    count = {}
    where = {}
    for i in range(n - 1):
        a, b = tok[i], tok[i + 1]
        if a >= 0 and b >= 0:
            p = (a, b)
            count[p] = count.get(p, 0) + 1
            where.setdefault(p, set()).add(i)
    heap = [(-c, a, b) for (a, b), c in count.items()]
    heapq.heapify(heap)

    def dec(p, i):
        count[p] -= 1
        where[p].discard(i)
        heapq.heappush(heap, (-count[p], p[0], p[1]))

    def inc(p, i):
        c = count.get(p, 0) + 1
        count[p] = c
        where.setdefault(p, set()).add(i)
        heapq.heappush(heap, (-c, p[0], p[1]))

    merges = []
    while len(merges) < num_merges and heap:
        c, a, b = heapq.heappop(heap)
        if count.get((a, b), 0) != -c or -c == 0:
            continue
        if -c < min_freq:
            break
        new = base + len(merges)
        merges.append((a, b))
        for i in sorted(where[(a, b)]):
            if tok[i] != a:
                continue
            j = nxt[i]
            if j >= n or tok[j] != b:
                continue
            p, k = prv[i], nxt[j]
            if p >= 0 and tok[p] >= 0:
                dec((tok[p], a), p)
            if k < n and tok[k] >= 0:
                dec((b, tok[k]), j)
            tok[i] = new
            tok[j] = -2
            nxt[i] = k
            if k < n:
                prv[k] = i
            if p >= 0 and tok[p] >= 0:
                inc((tok[p], new), p)
            if k < n and tok[k] >= 0:
                inc((new, tok[k]), i)
        count[(a, b)] = 0
        where[(a, b)] = set()
    return merges


def _corpus_tokens(seqs, dedup_first):
    parts = []
    for s in seqs:
        if dedup_first and len(s):
            s = dedup(s)[0]
        parts += list(s) + [-1]
    return parts


@pytest.mark.parametrize("seed", range(6))
def test_bpe_in_c_equals_the_heap_implementation(seed):
    rng = np.random.default_rng(100 + seed)
    base = int(rng.integers(3, 40))
    seqs = [rng.integers(0, base, int(rng.integers(0, 3000))) for _ in range(int(rng.integers(1, 8)))]
    seqs.append(np.zeros(int(rng.integers(2, 60)), np.int64))  # a long run: overlapping pairs
    seqs.append(np.tile([1, 0], 25) % base)
    seqs.insert(0, np.zeros(0, np.int64))  # an empty sequence
    for dedup_first in (False, True):
        for mf in (1, 2, 5):
            want = heap_train(_corpus_tokens(seqs, dedup_first), base, 120, mf)
            got = UnitBPE.train(seqs, num_merges=120, base_vocab=base, min_frequency=mf, dedup=dedup_first)
            assert got.merges == [tuple(p) for p in want], (dedup_first, mf)
            for s in seqs[:4]:
                s = s[:500]
                d = rng.integers(0, 5, len(s))
                t, td = heap_encode(s.tolist(), d.tolist(), base, want)
                ct, ctd = got.encode_with_durations(s, d)
                assert ct.tolist() == t and ctd.tolist() == td


def test_bpe_large_corpus_equals_the_heap_implementation():
    """200,000 units, 300 merges: the C training and encoding equal the Python heap version
    (speed is measured by python -m slm.bench units, not here)"""
    x = np.random.default_rng(0).integers(0, 100, 200_000)
    bpe = UnitBPE.train(x, num_merges=300, base_vocab=100)
    want = heap_train(_corpus_tokens([x], True), 100, 300, 2)
    assert len(bpe.merges) == 300 and bpe.merges == [tuple(p) for p in want]
    u = dedup(x[:20000])[0]
    assert bpe.encode(u).tolist() == heap_encode(u.tolist(), None, 100, want)[0]
    assert np.array_equal(bpe.decode(bpe.encode(u)), u)


def test_bpe_c_entries_bad_input():
    with pytest.raises(ValueError, match="separator"):
        _C._units_bpe_train(np.array([0, 1, 7, -1]), 3, 5, 1)
    with pytest.raises(ValueError, match="separator"):
        _C._units_bpe_train(np.array([0, -2, 1]), 3, 5, 1)
    with pytest.raises(ValueError):
        _C._units_bpe_train(np.array([0, 1]), 3, -1, 1)
    with pytest.raises(ValueError, match="does not exist"):
        _C._units_bpe_encode(np.array([0, 1]), None, np.array([[0, 1], [5, 0]]), 3)
    with pytest.raises(ValueError, match="outside"):
        _C._units_bpe_encode(np.array([0, 3]), None, np.array([[0, 1]]), 3)
    with pytest.raises(ValueError, match="length"):
        _C._units_bpe_encode(np.array([0, 1]), np.array([1]), np.array([[0, 1]]), 3)
    with pytest.raises(ValueError, match="2\\^31"):
        UnitBPE.train([np.array([0, 1])], num_merges=2**31, base_vocab=2)
    assert _C._units_bpe_train(np.zeros(0, np.int64), 3, 5, 1).shape == (0, 2)
    t, d = _C._units_bpe_encode(np.array([0, 1, 0, 1]), np.array([1, 2, 3, 4]), np.array([[0, 1]]), 2)
    assert t.tolist() == [2, 2] and d.tolist() == [3, 7]
