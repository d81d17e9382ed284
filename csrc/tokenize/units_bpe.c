/* units_bpe.c: byte-pair encoding over speech-unit sequences: learning merges and applying
 * them.
 *
 * Training keeps the corpus as a doubly linked list of positions and, per adjacent pair, a
 * count and a list of the positions where it starts. A max-heap of (count, pair) entries is
 * updated lazily: every count change pushes a new entry, and entries whose count is no
 * longer current are dropped when popped. Occurrence lists are append-only; a merge sorts
 * its pair's list, drops repeats, and re-checks each position against the current tokens,
 * so stale entries cost nothing but memory. Each merge touches only the occurrences of
 * its pair and their neighbours, so training is O(corpus + total merge work * log).
 * Encoding is the same linked list with a min-heap of (rank, position).
 * This is pointer chasing, not arithmetic: the same scalar code runs on every path. */
#include <stdlib.h>
#include <string.h>

#include "slm/units.h"

#include "runtime/runtime.h"

/* ---------------------------------------------------------------- pair -> entry hash map */
typedef struct {
    uint64_t key; /* (a << 32) | b, a, b < 2^31; 0 marks an empty slot (pair (0, 0) is stored as key ~0) */
    int64_t val;  /* training: index into the pair table; encoding: the merge's rank */
} slot;

typedef struct {
    slot *s;
    int64_t cap, used; /* cap: a power of two */
} pairmap;

static uint64_t pair_key(int64_t a, int64_t b) {
    const uint64_t k = ((uint64_t)a << 32) | (uint64_t)b;
    return k ? k : ~(uint64_t)0;
}

static uint64_t mix(uint64_t x) { /* splitmix64's finaliser */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static int map_init(pairmap *m, int64_t want) {
    m->cap = 64;
    while (m->cap < 2 * want) m->cap *= 2;
    m->used = 0;
    m->s = calloc((size_t)m->cap, sizeof(slot));
    return m->s != NULL;
}

/* the slot of key: found, or the empty one where it would go */
static slot *map_slot(const pairmap *m, uint64_t key) {
    uint64_t i = mix(key) & (uint64_t)(m->cap - 1);
    while (m->s[i].key && m->s[i].key != key) i = (i + 1) & (uint64_t)(m->cap - 1);
    return m->s + i;
}

static int map_grow(pairmap *m) {
    pairmap g = {calloc((size_t)m->cap * 2, sizeof(slot)), m->cap * 2, m->used};
    if (!g.s) return 0;
    for (int64_t i = 0; i < m->cap; i++)
        if (m->s[i].key) *map_slot(&g, m->s[i].key) = m->s[i];
    free(m->s);
    *m = g;
    return 1;
}

/* ---------------------------------------------------------------- training */
typedef struct {
    int64_t a, b, count;
    int64_t *pos, npos, cap;
} pairrec;

typedef struct {
    int64_t count, a, b;
} hentry;

/* heap order: larger count first, then smaller (a, b) */
static int h_before(const hentry *x, const hentry *y) {
    if (x->count != y->count) return x->count > y->count;
    if (x->a != y->a) return x->a < y->a;
    return x->b < y->b;
}

typedef struct {
    pairmap map;
    pairrec *rec;
    int64_t nrec, caprec;
    hentry *heap;
    int64_t nheap, capheap;
} trainer;

static int heap_push(trainer *t, hentry e) {
    if (t->nheap == t->capheap) {
        int64_t c = t->capheap ? t->capheap * 2 : 1024;
        hentry *h = realloc(t->heap, (size_t)c * sizeof(hentry));
        if (!h) return 0;
        t->heap = h, t->capheap = c;
    }
    int64_t i = t->nheap++;
    while (i > 0) {
        int64_t p = (i - 1) / 2;
        if (!h_before(&e, &t->heap[p])) break;
        t->heap[i] = t->heap[p];
        i = p;
    }
    t->heap[i] = e;
    return 1;
}

static hentry heap_pop(trainer *t) {
    hentry top = t->heap[0], last = t->heap[--t->nheap];
    int64_t i = 0, n = t->nheap;
    for (;;) {
        int64_t l = 2 * i + 1, r = l + 1, m = i;
        const hentry *best = &last;
        if (l < n && h_before(&t->heap[l], best)) m = l, best = &t->heap[l];
        if (r < n && h_before(&t->heap[r], best)) m = r;
        if (m == i) break;
        t->heap[i] = t->heap[m];
        i = m;
    }
    if (n) t->heap[i] = last;
    return top;
}

/* the record of pair (a, b), created with count 0 if new; NULL when out of memory */
static pairrec *rec_get(trainer *t, int64_t a, int64_t b) {
    const uint64_t key = pair_key(a, b);
    slot *s = map_slot(&t->map, key);
    if (s->key) return t->rec + s->val;
    if (2 * (t->map.used + 1) > t->map.cap) {
        if (!map_grow(&t->map)) return NULL;
        s = map_slot(&t->map, key);
    }
    if (t->nrec == t->caprec) {
        int64_t c = t->caprec ? t->caprec * 2 : 1024;
        pairrec *r = realloc(t->rec, (size_t)c * sizeof(pairrec));
        if (!r) return NULL;
        t->rec = r, t->caprec = c;
    }
    s->key = key;
    s->val = t->nrec;
    t->map.used++;
    pairrec *r = t->rec + t->nrec++;
    *r = (pairrec){a, b, 0, NULL, 0, 0};
    return r;
}

static int rec_add_pos(pairrec *r, int64_t i) {
    if (r->npos == r->cap) {
        int64_t c = r->cap ? r->cap * 2 : 4;
        int64_t *p = realloc(r->pos, (size_t)c * sizeof(int64_t));
        if (!p) return 0;
        r->pos = p, r->cap = c;
    }
    r->pos[r->npos++] = i;
    return 1;
}

/* count of (a, b) += delta at left position i (delta +1 records the position) */
static int bump(trainer *t, int64_t a, int64_t b, int64_t i, int delta) {
    pairrec *r = rec_get(t, a, b);
    if (!r) return 0;
    r->count += delta;
    if (delta > 0 && !rec_add_pos(r, i)) return 0;
    return heap_push(t, (hentry){r->count, a, b});
}

static int cmp_i64(const void *x, const void *y) {
    const int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

static void trainer_free(trainer *t) {
    for (int64_t i = 0; i < t->nrec; i++) free(t->rec[i].pos);
    free(t->rec);
    free(t->heap);
    free(t->map.s);
}

slm_status slm_units_bpe_train(int64_t *merges, int64_t *n_merges, const int64_t *tokens, int64_t n,
                               int64_t base_vocab, int64_t num_merges, int64_t min_frequency) {
    static const char fn[] = "units_bpe_train";
    SLM_CHECK(n >= 0 && base_vocab >= 1 && num_merges >= 0 && min_frequency >= 1, fn,
              "bad arguments n=%lld base_vocab=%lld num_merges=%lld min_frequency=%lld", (long long)n,
              (long long)base_vocab, (long long)num_merges, (long long)min_frequency);
    SLM_CHECK(base_vocab + num_merges < ((int64_t)1 << 31), fn,
              "base_vocab + num_merges = %lld must stay below 2^31", (long long)(base_vocab + num_merges));
    for (int64_t i = 0; i < n; i++)
        SLM_CHECK(tokens[i] == -1 || (tokens[i] >= 0 && tokens[i] < base_vocab), fn,
                  "token %lld at %lld is neither a unit in [0, %lld) nor the separator -1", (long long)tokens[i],
                  (long long)i, (long long)base_vocab);
    *n_merges = 0;
    int64_t bytes;
    SLM_TRY(slm_numel(fn, &bytes, 3, n, 3, (int64_t)sizeof(int64_t)));
    int64_t *tok = malloc((size_t)(n ? n : 1) * 3 * sizeof(int64_t));
    trainer t = {0};
    slm_status st = SLM_OK;
    if (!tok || !map_init(&t.map, n / 4 + 16)) {
        free(tok);
        free(t.map.s);
        return slm_error(SLM_ERR_NOMEM, fn, "out of memory for a corpus of %lld tokens", (long long)n);
    }
    int64_t *nxt = tok + n, *prv = nxt + n;
    memcpy(tok, tokens, (size_t)n * sizeof(int64_t));
    for (int64_t i = 0; i < n; i++) nxt[i] = i + 1, prv[i] = i - 1;
    /* initial counts: one heap entry per distinct pair (pushed after counting) */
    for (int64_t i = 0; i + 1 < n; i++) {
        if (tok[i] < 0 || tok[i + 1] < 0) continue;
        pairrec *r = rec_get(&t, tok[i], tok[i + 1]);
        if (!r || !rec_add_pos(r, i)) goto nomem;
        r->count++;
    }
    for (int64_t k = 0; k < t.nrec; k++)
        if (!heap_push(&t, (hentry){t.rec[k].count, t.rec[k].a, t.rec[k].b})) goto nomem;
    while (*n_merges < num_merges && t.nheap) {
        if (slm_interrupted()) {
            st = SLM_INTERRUPTED_ERROR(fn);
            goto done;
        }
        const hentry e = heap_pop(&t);
        pairrec *r = rec_get(&t, e.a, e.b);
        if (!r) goto nomem;
        if (r->count != e.count || e.count == 0) continue; /* stale */
        if (e.count < min_frequency) break;
        const int64_t a = e.a, b = e.b, nw = base_vocab + *n_merges;
        merges[2 * *n_merges] = a;
        merges[2 * *n_merges + 1] = b;
        ++*n_merges;
        /* the occurrences in left-to-right order; take the list out of the record, since
         * bump() below may grow the record table (moving r) */
        int64_t *pos = r->pos, np = r->npos;
        r->pos = NULL, r->npos = r->cap = 0;
        qsort(pos, (size_t)np, sizeof(int64_t), cmp_i64);
        for (int64_t q = 0; q < np; q++) {
            const int64_t i = pos[q];
            if (q && pos[q - 1] == i) continue;
            if (tok[i] != a) continue;
            const int64_t j = nxt[i];
            if (j >= n || tok[j] != b) continue;
            const int64_t p = prv[i], k = nxt[j];
            if (p >= 0 && tok[p] >= 0 && !bump(&t, tok[p], a, p, -1)) goto nomem_pos;
            if (k < n && tok[k] >= 0 && !bump(&t, b, tok[k], j, -1)) goto nomem_pos;
            tok[i] = nw;
            tok[j] = -2;
            nxt[i] = k;
            if (k < n) prv[k] = i;
            if (p >= 0 && tok[p] >= 0 && !bump(&t, tok[p], nw, p, +1)) goto nomem_pos;
            if (k < n && tok[k] >= 0 && !bump(&t, nw, tok[k], i, +1)) goto nomem_pos;
        }
        free(pos);
        r = rec_get(&t, a, b);
        if (!r) goto nomem;
        r->count = 0;
        continue;
    nomem_pos:
        free(pos);
        goto nomem;
    }
    goto done;
nomem:
    st = slm_error(SLM_ERR_NOMEM, fn, "out of memory while training (%lld distinct pairs)", (long long)t.nrec);
done:
    trainer_free(&t);
    free(tok);
    return st;
}

/* ---------------------------------------------------------------- encoding */
typedef struct {
    int64_t rank, pos;
} rentry;

static int r_before(const rentry *x, const rentry *y) {
    return x->rank != y->rank ? x->rank < y->rank : x->pos < y->pos;
}

typedef struct {
    rentry *h;
    int64_t n, cap;
} rheap;

static int rheap_push(rheap *q, rentry e) {
    if (q->n == q->cap) {
        int64_t c = q->cap ? q->cap * 2 : 256;
        rentry *h = realloc(q->h, (size_t)c * sizeof(rentry));
        if (!h) return 0;
        q->h = h, q->cap = c;
    }
    int64_t i = q->n++;
    while (i > 0) {
        int64_t p = (i - 1) / 2;
        if (!r_before(&e, &q->h[p])) break;
        q->h[i] = q->h[p];
        i = p;
    }
    q->h[i] = e;
    return 1;
}

static rentry rheap_pop(rheap *q) {
    rentry top = q->h[0], last = q->h[--q->n];
    int64_t i = 0, n = q->n;
    for (;;) {
        int64_t l = 2 * i + 1, r = l + 1, m = i;
        const rentry *best = &last;
        if (l < n && r_before(&q->h[l], best)) m = l, best = &q->h[l];
        if (r < n && r_before(&q->h[r], best)) m = r;
        if (m == i) break;
        q->h[i] = q->h[m];
        i = m;
    }
    if (n) q->h[i] = last;
    return top;
}

/* rank of pair (a, b), or -1 */
static int64_t rank_of(const pairmap *m, int64_t a, int64_t b) {
    const slot *s = map_slot(m, pair_key(a, b));
    return s->key ? s->val : -1;
}

slm_status slm_units_bpe_encode(int64_t *out_tokens, int64_t *out_durations, int64_t *n_out, const int64_t *units,
                                const int64_t *durations, int64_t n, const int64_t *merges, int64_t n_merges,
                                int64_t base_vocab) {
    static const char fn[] = "units_bpe_encode";
    SLM_CHECK(n >= 0 && n_merges >= 0 && base_vocab >= 1, fn, "bad sizes n=%lld n_merges=%lld base_vocab=%lld",
              (long long)n, (long long)n_merges, (long long)base_vocab);
    SLM_CHECK(base_vocab + n_merges < ((int64_t)1 << 31), fn, "base_vocab + n_merges must stay below 2^31");
    for (int64_t r = 0; r < 2 * n_merges; r++)
        SLM_CHECK(merges[r] >= 0 && merges[r] < base_vocab + r / 2, fn,
                  "merge %lld uses token %lld, which does not exist before it", (long long)(r / 2),
                  (long long)merges[r]);
    for (int64_t i = 0; i < n; i++)
        SLM_CHECK(units[i] >= 0 && units[i] < base_vocab, fn, "unit %lld at %lld is outside [0, %lld)",
                  (long long)units[i], (long long)i, (long long)base_vocab);
    *n_out = 0;
    int64_t bytes;
    SLM_TRY(slm_numel(fn, &bytes, 3, n, 3, (int64_t)sizeof(int64_t)));
    pairmap m = {0};
    rheap q = {0};
    int64_t *tok = malloc((size_t)(n ? n : 1) * 3 * sizeof(int64_t));
    int64_t *dur = durations ? malloc((size_t)(n ? n : 1) * sizeof(int64_t)) : NULL;
    slm_status st = SLM_OK;
    if (!tok || (durations && !dur) || !map_init(&m, n_merges + 1)) goto nomem;
    /* the first merge of a pair wins (a repeated pair's later rank is never reached) */
    for (int64_t r = 0; r < n_merges; r++) {
        slot *s = map_slot(&m, pair_key(merges[2 * r], merges[2 * r + 1]));
        if (!s->key) s->key = pair_key(merges[2 * r], merges[2 * r + 1]), s->val = r, m.used++;
    }
    int64_t *nxt = tok + n, *prv = nxt + n;
    memcpy(tok, units, (size_t)n * sizeof(int64_t));
    if (dur) memcpy(dur, durations, (size_t)n * sizeof(int64_t));
    for (int64_t i = 0; i < n; i++) nxt[i] = i + 1, prv[i] = i - 1;
    for (int64_t i = 0; i + 1 < n; i++) {
        const int64_t r = rank_of(&m, tok[i], tok[i + 1]);
        if (r >= 0 && !rheap_push(&q, (rentry){r, i})) goto nomem;
    }
    while (q.n) {
        const rentry e = rheap_pop(&q);
        const int64_t i = e.pos;
        if (tok[i] < 0) continue; /* merged away */
        const int64_t j = nxt[i];
        if (j >= n || rank_of(&m, tok[i], tok[j]) != e.rank) continue;
        tok[i] = base_vocab + e.rank;
        if (dur) dur[i] += dur[j];
        tok[j] = -1;
        const int64_t k = nxt[j];
        nxt[i] = k;
        if (k < n) {
            prv[k] = i;
            const int64_t r2 = rank_of(&m, tok[i], tok[k]);
            if (r2 >= 0 && !rheap_push(&q, (rentry){r2, i})) goto nomem;
        }
        const int64_t p = prv[i];
        if (p >= 0) {
            const int64_t r2 = rank_of(&m, tok[p], tok[i]);
            if (r2 >= 0 && !rheap_push(&q, (rentry){r2, p})) goto nomem;
        }
    }
    int64_t o = 0;
    for (int64_t i = 0; i < n; i++) {
        if (tok[i] < 0) continue;
        out_tokens[o] = tok[i];
        if (out_durations && dur) out_durations[o] = dur[i];
        o++;
    }
    *n_out = o;
    goto done;
nomem:
    st = slm_error(SLM_ERR_NOMEM, fn, "out of memory for %lld units", (long long)n);
done:
    free(tok);
    free(dur);
    free(m.s);
    free(q.h);
    return st;
}
