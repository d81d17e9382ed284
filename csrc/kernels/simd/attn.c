/* attn.c (simd): blocked ("flash") scaled_dot_product_attention for AVX2 / AVX-512.
 *
 * Attention of every Transformer in the flow (SSL encoders, Whisper, the LM prefill and
 * its one-token decode). Memory does not grow as L*S: a block of up to RB query rows
 * walks the keys in tiles of SK, keeping per row a running maximum m, a running sum l
 * of exp(score - m) and an unnormalised output acc (the online softmax of Milakov &
 * Gimelshein 2018, as in FlashAttention); when a tile raises m, l and acc are rescaled
 * by exp(m_old - m_new). Scratch per thread: (E + SK + 2) * RB + RB * Ev floats.
 *
 * Rows of a block are (query head, query position) pairs of the heads that share one
 * key head and one value head (grouped-query attention), so a one-token decode step of
 * a GQA model reads each key tile once for all its query heads. A tile's scores are
 * kept transposed, (keys, rows): the block's queries are packed once as (E, rows) and
 * the key rows are used where they lie, so nothing is packed per tile, and the softmax
 * statistics are vectors across rows. Both products (keys @ queries^T, then
 * probabilities @ values) use one register-blocked kernel (6 rows x 2 vectors). Blocks
 * of at most DOT_ROWS rows (decode) use SIMD dot products for the scores instead, as
 * their packed product would waste most of a vector. When there are too few blocks to
 * feed the threads (decode: L = 1), the keys are split into chunks whose partial
 * (m, l, acc) are merged at the end.
 *
 * Special rows (as ref/attn_ref.c): a row whose keys are all masked out gives zeros
 * (l = 0), as torch's CPU kernel does; a NaN score makes its row NaN. The running
 * maximum ignores NaN (vmax returns its second operand on NaN) and a row without a
 * finite score yet subtracts 0 instead of -inf, so a NaN score always reaches l
 * through exp(NaN - m).
 */
#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "simd.h"
#include "../attn.h"

#define RB 64         /* query rows per block */
#define SK 128        /* keys per tile: a multiple of the widest VW (16) */
#define SPLIT_MIN 512 /* fewest keys in one chunk when the keys are split among threads */
#define DOT_ROWS 8    /* blocks of at most this many rows use dot products for scores */
#define MR 6          /* rows of the register-blocked product */

/* c (R, N) = (accumulate ? c : 0) + a (R, K) @ b (K, N), for R <= MR rows kept in
 * registers with 2 vectors of columns: 12 accumulators + 2 loads + 1 broadcast fill 15
 * of AVX2's 16 registers, and 12 independent FMA chains cover the FMA latency.
 * Element (r, kk) of a is a[r * ars + kk * aks] (either layout), b and c have row
 * strides ldb, ldc. Called with constant R, so it is inlined and specialised per R. */
static inline __attribute__((always_inline)) void mm_rows(float *c, int64_t ldc, const float *a,
                                                          int64_t ars, int64_t aks, const float *b,
                                                          int64_t ldb, const int R, int64_t K,
                                                          int64_t N, int accumulate) {
    int64_t n = 0;
    for (; n + 2 * VW <= N; n += 2 * VW) {
        vf c0[MR], c1[MR];
        for (int r = 0; r < R; r++) {
            c0[r] = accumulate ? vload(c + r * ldc + n) : vzero();
            c1[r] = accumulate ? vload(c + r * ldc + n + VW) : vzero();
        }
        /* rows 0-2 from a_lo, 3-5 from a_hi, each at 0, 1 or 2 times ars: x86 addressing
         * (base + index * scale) reaches them all from two pointers and one stride,
         * which keeps the loop free of spills */
        const float *bp = b + n, *a_lo = a, *a_hi = a + 3 * ars;
        for (int64_t kk = K; kk > 0; kk--, bp += ldb, a_lo += aks, a_hi += aks) {
            vf b0 = vload(bp), b1 = vload(bp + VW);
            for (int r = 0; r < R; r++) {
                vf ar = vset1(r < 3 ? a_lo[r * ars] : a_hi[(r - 3) * ars]);
                c0[r] = vfmadd(ar, b0, c0[r]);
                c1[r] = vfmadd(ar, b1, c1[r]);
            }
        }
        for (int r = 0; r < R; r++) {
            vstore(c + r * ldc + n, c0[r]);
            vstore(c + r * ldc + n + VW, c1[r]);
        }
    }
    for (; n < N; n += VW) {
        const int t = N - n < VW ? (int)(N - n) : VW; /* t < VW: the masked tail */
        vf c0[MR];
        for (int r = 0; r < R; r++)
            c0[r] = accumulate ? (t == VW ? vload(c + r * ldc + n) : vload_n(c + r * ldc + n, t)) : vzero();
        const float *bp = b + n, *ap = a;
        if (t == VW) {
            for (int64_t kk = 0; kk < K; kk++, bp += ldb, ap += aks) {
                vf b0 = vload(bp);
                for (int r = 0; r < R; r++) c0[r] = vfmadd(vset1(ap[r * ars]), b0, c0[r]);
            }
            for (int r = 0; r < R; r++) vstore(c + r * ldc + n, c0[r]);
        } else {
            for (int64_t kk = 0; kk < K; kk++, bp += ldb, ap += aks) {
                vf b0 = vload_n(bp, t);
                for (int r = 0; r < R; r++) c0[r] = vfmadd(vset1(ap[r * ars]), b0, c0[r]);
            }
            for (int r = 0; r < R; r++) vstore_n(c + r * ldc + n, c0[r], t);
        }
    }
}

/* c (R, N) (+)= a (R, K) @ b (K, N) for any R, MR rows at a time. Not inlined: inside
 * the large parallel-loop body GCC ran short of registers and spilled the loop state. */
static __attribute__((noinline)) void mm(float *c, int64_t ldc, const float *a, int64_t ars, int64_t aks, const float *b,
               int64_t ldb, int64_t R, int64_t K, int64_t N, int accumulate) {
    int64_t r = 0;
    for (; r + MR <= R; r += MR)
        mm_rows(c + r * ldc, ldc, a + r * ars, ars, aks, b, ldb, MR, K, N, accumulate);
    const float *ar = a + r * ars;
    float *cr = c + r * ldc;
    switch (R - r) {
    case 5: mm_rows(cr, ldc, ar, ars, aks, b, ldb, 5, K, N, accumulate); break;
    case 4: mm_rows(cr, ldc, ar, ars, aks, b, ldb, 4, K, N, accumulate); break;
    case 3: mm_rows(cr, ldc, ar, ars, aks, b, ldb, 3, K, N, accumulate); break;
    case 2: mm_rows(cr, ldc, ar, ars, aks, b, ldb, 2, K, N, accumulate); break;
    case 1: mm_rows(cr, ldc, ar, ars, aks, b, ldb, 1, K, N, accumulate); break;
    default: break;
    }
}

/* st[j][r] (nk, ldst) = q_r (E) . k_j (E) for blocks of few rows: each key row is
 * loaded once per 4 query rows, nothing is packed */
static void dot_scores(float *st, int64_t ldst, const float *const *qrow, int R, const float *k0,
                       int64_t k_ss, int64_t nk, int64_t E) {
    for (int64_t j = 0; j < nk; j++) {
        const float *kr = k0 + j * k_ss;
        float *sj = st + j * ldst;
        for (int r0 = 0; r0 < R; r0 += 4) {
            const int rn = R - r0 < 4 ? R - r0 : 4;
            vf a0 = vzero(), a1 = vzero(), a2 = vzero(), a3 = vzero();
            const float *q0 = qrow[r0], *q1 = qrow[r0 + (rn > 1)], *q2 = qrow[r0 + (rn > 2 ? 2 : 0)],
                        *q3 = qrow[r0 + (rn > 3 ? 3 : 0)];
            int64_t e = 0;
            for (; e + VW <= E; e += VW) {
                vf kv = vload(kr + e);
                a0 = vfmadd(vload(q0 + e), kv, a0);
                a1 = vfmadd(vload(q1 + e), kv, a1);
                a2 = vfmadd(vload(q2 + e), kv, a2);
                a3 = vfmadd(vload(q3 + e), kv, a3);
            }
            if (e < E) {
                const int t = (int)(E - e);
                vf kv = vload_n(kr + e, t);
                a0 = vfmadd(vload_n(q0 + e, t), kv, a0);
                a1 = vfmadd(vload_n(q1 + e, t), kv, a1);
                a2 = vfmadd(vload_n(q2 + e, t), kv, a2);
                a3 = vfmadd(vload_n(q3 + e, t), kv, a3);
            }
            sj[r0] = vreduce_add(a0);
            if (rn > 1) sj[r0 + 1] = vreduce_add(a1);
            if (rn > 2) sj[r0 + 2] = vreduce_add(a2);
            if (rn > 3) sj[r0 + 3] = vreduce_add(a3);
        }
    }
}

/* A block: R query rows sharing one key head and one value head. */
typedef struct {
    int R;
    const float *k, *v;    /* key head (S, E), value head (S, Ev) */
    const float *q[RB];    /* query rows (E) */
    float *o[RB];          /* output rows (Ev) */
    int64_t moff[RB];      /* element offset of the row's mask row */
    int64_t last[RB];      /* last key index the row may see (S-1 unless causal) */
} block_t;

/* Run a block's rows over keys [j0, j1) from an empty state, leaving per row r the
 * running maximum m[r], the sum l[r] and the unnormalised output acc (R, Ev).
 *
 * Scores are kept transposed, st (keys, Rp) with Rp = R rounded up to VW, so that the
 * per-row softmax statistics are vectors across rows and the key rows are used as they
 * lie in memory (no per-tile packing); only the block's queries are packed, once, as
 * qt (E, Rp), pre-multiplied by the scale. Padding lanes r >= R carry zeros. */
static void attend(const block_t *bk, const slm_sdpa_params *p, const void *mask, int64_t j0, int64_t j1,
                   float *qt, float *st, float *m, float *l, float *acc) {
    const int R = bk->R;
    const int64_t E = p->E, Ev = p->Ev, Rp = (R + VW - 1) / VW * VW;
    for (int64_t r = 0; r < Rp; r++) m[r] = -INFINITY, l[r] = 0.0f;
    memset(acc, 0, (size_t)R * (size_t)Ev * sizeof(float));
    int64_t maxlast = -1, minlast = INT64_MAX;
    for (int r = 0; r < R; r++) {
        maxlast = bk->last[r] > maxlast ? bk->last[r] : maxlast;
        minlast = bk->last[r] < minlast ? bk->last[r] : minlast;
    }
    if (j1 > maxlast + 1) j1 = maxlast + 1;
    const int packed = R > DOT_ROWS;
    if (packed) {
        for (int64_t e = 0; e < E; e++) {
            for (int r = 0; r < R; r++) qt[e * Rp + r] = bk->q[r][e] * p->scale;
            for (int64_t r = R; r < Rp; r++) qt[e * Rp + r] = 0.0f;
        }
    }
    const vf vlow = vset1(-3.4028234663852886e38f);
    for (int64_t jt = j0; jt < j1; jt += SK) {
        const int64_t nk = j1 - jt < SK ? j1 - jt : SK;
        const float *k0 = bk->k + jt * p->k_ss;
        if (packed) {
            mm(st, Rp, k0, p->k_ss, 1, qt, Rp, nk, E, Rp, 0);
        } else {
            dot_scores(st, Rp, bk->q, R, k0, p->k_ss, nk, E);
            const vf vs = vset1(p->scale);
            for (int64_t j = 0; j < nk; j++) {
                float *sj = st + j * Rp;
                for (int64_t r = R; r < Rp; r++) sj[r] = 0.0f;
                for (int64_t r = 0; r < Rp; r += VW) vstore(sj + r, vmul(vload(sj + r), vs));
            }
        }
        if (p->mask_kind == SLM_ATTN_MASK_ADD) {
            for (int r = 0; r < R; r++) {
                const float *mr = (const float *)mask + bk->moff[r] + jt * p->m_ss;
                for (int64_t j = 0; j < nk; j++) st[j * Rp + r] += mr[j * p->m_ss];
            }
        } else if (p->mask_kind == SLM_ATTN_MASK_BOOL) {
            /* added as -inf, not stored: a NaN score stays NaN, as in torch, which turns a
             * bool mask into an additive one */
            for (int r = 0; r < R; r++) {
                const uint8_t *mr = (const uint8_t *)mask + bk->moff[r] + jt * p->m_ss;
                for (int64_t j = 0; j < nk; j++)
                    if (!mr[j * p->m_ss]) st[j * Rp + r] += -INFINITY;
            }
        }
        if (minlast < jt + nk - 1) {
            /* the tile crosses some row's causal diagonal */
            for (int r = 0; r < R; r++)
                for (int64_t j = bk->last[r] - jt + 1 > 0 ? bk->last[r] - jt + 1 : 0; j < nk; j++)
                    st[j * Rp + r] = -INFINITY;
        }
        /* online softmax, a vector of rows at a time */
        for (int64_t r = 0; r < Rp; r += VW) {
            vf vm = vload(m + r);
            for (int64_t j = 0; j < nk; j++) vm = vmax(vload(st + j * Rp + r), vm); /* NaN keeps vm */
            const vf m_old = vload(m + r);
            /* a row still without a finite score subtracts 0 instead of -inf: its -inf
             * scores give 0 and its NaN scores stay NaN (into l, hence the output) */
            const vf m_use = vblend(vcmp_lt(vm, vlow), vm, vzero());
            vf vsum = vzero();
            for (int64_t j = 0; j < nk; j++) {
                vf e = vexp(vsub(vload(st + j * Rp + r), m_use));
                vstore(st + j * Rp + r, e);
                vsum = vadd(vsum, e);
            }
            const vf corr = vexp(vsub(m_old, m_use)); /* 0 when m_old = -inf */
            vstore(l + r, vfmadd(vload(l + r), corr, vsum));
            vstore(m + r, vm);
            float cr[VW];
            vstore(cr, corr);
            for (int64_t i = r; i < r + VW && i < R; i++) {
                if (cr[i - r] == 1.0f) continue;
                float *ai = acc + i * Ev;
                const vf vc = vset1(cr[i - r]);
                int64_t e = 0;
                for (; e + VW <= Ev; e += VW) vstore(ai + e, vmul(vload(ai + e), vc));
                if (e < Ev) vstore_n(ai + e, vmul(vload_n(ai + e, (int)(Ev - e)), vc), (int)(Ev - e));
            }
        }
        /* acc (R, Ev) += p (R, nk) @ v (nk, Ev), p read from st transposed */
        mm(acc, Ev, st, 1, Rp, bk->v + jt * p->v_ss, p->v_ss, R, nk, Ev, 1);
    }
}

/* out row = acc / l: zeros for a fully masked row (l = 0), NaN when l is NaN */
static void finish_row(float *o, const float *acc, float l, int64_t Ev) {
    if (l == 0.0f) {
        memset(o, 0, (size_t)Ev * sizeof(float));
        return;
    }
    const vf vr = vset1(1.0f / l);
    int64_t e = 0;
    for (; e + VW <= Ev; e += VW) vstore(o + e, vmul(vload(acc + e), vr));
    if (e < Ev) vstore_n(o + e, vmul(vload_n(acc + e, (int)(Ev - e)), vr), (int)(Ev - e));
}

/* Geometry of the work: blocks of rows of each (batch, head group), keys split in
 * chunks when there are too few blocks for the threads. */
typedef struct {
    int64_t G, ngroups, rows, rb, nblk, items, nsplit, chunk;
} plan_t;

static void fill_block(block_t *bk, const plan_t *pl, const slm_sdpa_params *p, const float *q,
                       const float *k, const float *v, float *out, int64_t item) {
    const int64_t blk = item % pl->nblk, g = (item / pl->nblk) % pl->ngroups,
                  b = item / (pl->nblk * pl->ngroups);
    const int64_t r0 = blk * pl->rb, r1 = r0 + pl->rb < pl->rows ? r0 + pl->rb : pl->rows;
    const int64_t h0 = g * pl->G;
    bk->R = (int)(r1 - r0);
    bk->k = k + b * p->k_sb + (h0 / (p->Hq / p->Hk)) * p->k_sh;
    bk->v = v + b * p->v_sb + (h0 / (p->Hq / p->Hv)) * p->v_sh;
    for (int64_t r = r0; r < r1; r++) {
        const int64_t h = h0 + r / p->L, l = r % p->L;
        const int i = (int)(r - r0);
        bk->q[i] = q + b * p->q_sb + h * p->q_sh + l * p->q_sl;
        bk->o[i] = out + b * p->o_sb + h * p->o_sh + l * p->o_sl;
        bk->moff[i] = b * p->m_sb + h * p->m_sh + l * p->m_sl;
        bk->last[i] = p->is_causal ? (l < p->S - 1 ? l : p->S - 1) : p->S - 1;
    }
}

static int64_t gcd64(int64_t a, int64_t b) {
    while (b) {
        int64_t t = a % b;
        a = b, b = t;
    }
    return a;
}

slm_status SLM_SIMD_FN(slm_sdpa_f32)(float *out, const float *q, const float *k, const float *v,
                                     const void *mask, const slm_sdpa_params *p) {
    static const char fn[] = "scaled_dot_product_attention";
    /* about 2^19 multiply-adds per thread at least: below that, waking threads costs
     * more than it saves (a one-token decode step of a small model is ~1M) */
    int nt = slm_threads();
    const int64_t macs = p->B * p->Hq * p->L * p->S * (p->E + p->Ev);
    if (macs / nt < ((int64_t)1 << 19)) nt = (int)(macs >> 19) + 1 < nt ? (int)(macs >> 19) + 1 : nt;
    plan_t pl;
    /* heads h, h' share a key and a value head iff they lie in one aligned run of
     * gcd(Hq/Hk, Hq/Hv) heads */
    pl.G = gcd64(p->Hq / p->Hk, p->Hq / p->Hv);
    pl.ngroups = p->Hq / pl.G;
    pl.rows = pl.G * p->L;
    pl.nblk = (pl.rows + RB - 1) / RB;
    pl.rb = (pl.rows + pl.nblk - 1) / pl.nblk; /* even blocks */
    pl.items = p->B * pl.ngroups * pl.nblk;
    pl.nsplit = 1;
    pl.chunk = p->S;
    if (nt > 1 && pl.items < 2 * nt && p->S >= 2 * SPLIT_MIN) {
        int64_t want = (4 * nt + pl.items - 1) / pl.items, most = p->S / SPLIT_MIN;
        int64_t ns = want < most ? want : most;
        pl.chunk = ((p->S + ns - 1) / ns + SK - 1) / SK * SK;
        pl.nsplit = (p->S + pl.chunk - 1) / pl.chunk;
    }
    const int64_t E = p->E, Ev = p->Ev, rb = pl.rb, rbp = (rb + VW - 1) / VW * VW;
    /* per-thread scratch: qt (E, rbp), st (SK, rbp), state m, l (rbp each) + acc (rb, Ev);
     * with split keys, one state per (block, chunk) */
    int64_t n_qt, n_st, n_state, n_part = 0;
    SLM_TRY(slm_numel(fn, &n_qt, 3, E, rbp, (int64_t)sizeof(float)));
    SLM_TRY(slm_numel(fn, &n_st, 3, (int64_t)SK, rbp, (int64_t)sizeof(float)));
    int64_t acc_n;
    SLM_TRY(slm_numel(fn, &acc_n, 2, rb, Ev));
    const int64_t state_floats = 2 * rbp + acc_n;
    SLM_TRY(slm_numel(fn, &n_state, 2, state_floats, (int64_t)sizeof(float)));
    if (pl.nsplit > 1) SLM_TRY(slm_numel(fn, &n_part, 2, pl.items * pl.nsplit, n_state));
    const size_t per_thread =
        slm_arena_need((size_t)n_qt) + slm_arena_need((size_t)n_st) + slm_arena_need((size_t)n_state);
    if (per_thread > (SIZE_MAX / 4) / (size_t)nt || (size_t)n_part > SIZE_MAX / 4)
        return slm_error(SLM_ERR_NOMEM, fn, "scratch size overflows (E=%lld, Ev=%lld)", (long long)E,
                         (long long)Ev);
    slm_arena ar;
    SLM_TRY(slm_arena_init(&ar, per_thread * (size_t)nt + slm_arena_need((size_t)n_part), fn));
    float *qts[nt], *sts[nt], *states[nt];
    for (int t = 0; t < nt; t++) {
        qts[t] = slm_arena_take(&ar, (size_t)n_qt);
        sts[t] = slm_arena_take(&ar, (size_t)n_st);
        states[t] = slm_arena_take(&ar, (size_t)n_state);
    }
    float *part = pl.nsplit > 1 ? slm_arena_take(&ar, (size_t)n_part) : NULL;
    const int64_t work = pl.items * pl.nsplit;
    int stop = 0;
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
    for (int64_t w = 0; w < work; w++) {
        if (stop || slm_interrupted()) {
            stop = 1;
            continue;
        }
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        block_t bk;
        const int64_t item = w / pl.nsplit, sp = w % pl.nsplit;
        fill_block(&bk, &pl, p, q, k, v, out, item);
        float *sb = pl.nsplit > 1 ? part + w * state_floats : states[tid];
        float *m = sb, *l = sb + rbp, *acc = sb + 2 * rbp;
        const int64_t j0 = sp * pl.chunk, j1 = j0 + pl.chunk < p->S ? j0 + pl.chunk : p->S;
        attend(&bk, p, mask, j0, j1, qts[tid], sts[tid], m, l, acc);
        if (pl.nsplit == 1)
            for (int r = 0; r < bk.R; r++) finish_row(bk.o[r], acc + r * Ev, l[r], Ev);
    }
    if (pl.nsplit > 1 && !stop) {
        /* merge the chunks of each row with weights exp(m_s - M), M the largest m_s (0
         * for a row masked in every chunk, whose l stays 0, or NaN) */
#pragma omp parallel for num_threads(nt) schedule(static)
        for (int64_t item = 0; item < pl.items; item++) {
            int tid = 0;
#ifdef _OPENMP
            tid = omp_get_thread_num();
#endif
            block_t bk;
            fill_block(&bk, &pl, p, q, k, v, out, item);
            float *acc = states[tid];
            for (int r = 0; r < bk.R; r++) {
                float M = -INFINITY, l = 0.0f;
                for (int64_t sp = 0; sp < pl.nsplit; sp++) {
                    const float ms = part[(item * pl.nsplit + sp) * state_floats + r];
                    M = ms > M ? ms : M;
                }
                if (M == -INFINITY) M = 0.0f;
                memset(acc, 0, (size_t)Ev * sizeof(float));
                for (int64_t sp = 0; sp < pl.nsplit; sp++) {
                    const float *sb = part + (item * pl.nsplit + sp) * state_floats;
                    const float wgt = expf(sb[r] - M);
                    l += sb[rbp + r] * wgt;
                    const float *a = sb + 2 * rbp + r * Ev;
                    const vf vw = vset1(wgt);
                    int64_t e = 0;
                    for (; e + VW <= Ev; e += VW) vstore(acc + e, vfmadd(vload(a + e), vw, vload(acc + e)));
                    for (; e < Ev; e++) acc[e] += a[e] * wgt;
                }
                finish_row(bk.o[r], acc, l, Ev);
            }
        }
    }
    slm_arena_release(&ar);
    if (stop) return SLM_INTERRUPTED_ERROR(fn);
    return SLM_OK;
}
