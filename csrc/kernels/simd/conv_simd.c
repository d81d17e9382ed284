/* conv_simd.c: conv1d and conv_transpose1d on AVX2 / AVX-512 (one source, see simd.h).
 *
 * Both ops become an implicit GEMM per group: out (Og, T) = A (Og, R) @ B (R, T), where
 * A holds the weights as rows (conv1d: the weight tensor itself; transposed: repacked
 * once per call, phase by phase) and each row r of B is a shifted window of one input
 * channel. Each task (batch, group, column chunk, channel chunk) first copies the input
 * window its columns need into a small per-thread buffer `xw`, laid out so that every B
 * row is contiguous in t. That removes the im2col copy and every bounds check from the
 * inner loop, and keeps scratch memory per thread rather than per input:
 *   conv1d: xw holds the zero-padded window split into `stride` phases (padded sample
 *     i = j*stride + p at [p][j]), so tap k of output t reads phase (k*d) % s at index
 *     t + (k*d) / s: a strided conv becomes stride-1 reads. A stride-1 task whose reads
 *     stay inside the input reads it in place.
 *   conv_transpose1d: the polyphase form. Output u = t + padding = m*s + q receives tap
 *     k only when (k*d) % s == q, from input m - (k*d) / s; so each output phase is a
 *     stride-1 correlation over m with the taps of that phase, and no zero is ever
 *     multiplied (no zero-stuffing, no col2im). A task computes every phase of a short
 *     stretch of output, so each output line is written once while it is in cache.
 * The micro-kernel computes an MR x (NV*VW) tile with MR*NV accumulators in registers,
 * over a reduction chunk of KC; gemm_task orders the tiles and copies a tile's B block
 * contiguously when many channel panels reuse it. Groups with one input channel and
 * fewer than MR outputs (depthwise) use a plain vector loop over t instead.
 *
 * Shapes: N batch, Cin/Cout channels, G groups, Cg = Cin/G, Og = Cout/G, K taps,
 * L input length, Lout output length, R = Cg*K reduction length (per phase for the
 * transposed conv).
 */
#include <omp.h>
#include <string.h>

#include "simd.h"
#include "../conv.h"

#define MR 4          /* output channels per micro-tile */
#define NV 3          /* vectors per micro-tile row */
#define NRW (NV * VW) /* output columns per micro-tile */
#define KC 256        /* reduction chunk */
#define MCB 128       /* channels per A block: MCB x KC floats (128 KiB) stay in L2 */
#define NCB 8         /* micro-tiles per task column chunk */
#define NC (NCB * NRW)
#define DWB (2 * NRW)   /* columns per step of the depthwise loop */
#define DWC (64 * DWB)  /* columns per depthwise task */

/* B windows larger than this are copied tile by tile (gemm_task's pack): smaller ones
 * stay in L1 as they are */
#define PACK_MIN_BYTES (32 << 10)
/* B rows are prefetched this far ahead (floats) */
#ifndef PF_DIST
#define PF_DIST (8 * NRW)
#endif
#ifndef PF_PACK
#define PF_PACK (2 * NRW)
#endif

/* a, b >= 0; no overflow even for b near INT64_MAX */
static inline int64_t ceil_div(int64_t a, int64_t b) { return a / b + (a % b != 0); }
static inline int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }
static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* Row stride of xw: a multiple of 16 floats with an odd number of 64-byte lines, so that
 * the B rows of neighbouring channels fall in different L1 sets (a power-of-two stride
 * would put all of them in one set and thrash it). */
static int64_t row_stride(int64_t len) {
    int64_t cs = round_up(len, 16);
    if ((cs / 16) % 2 == 0) cs += 16;
    return cs;
}

/* y (mr, nr) = [first ? bias : y] + sum_{r < R} a_i[r] * xb[off[r] + 0..NRW) for the
 * rows a_i = a + i*lda, i < mr (the tile's rows beyond mr reuse row mr-1 and its columns
 * beyond nr are computed, then dropped) */
static inline __attribute__((always_inline)) void micro_kernel(
    int64_t R, const float *a, int64_t lda, const int64_t *restrict off, const float *restrict xb,
    float *restrict y, int64_t ldy, int mr, int64_t nr, int first, const float *bias) {
    const float *restrict a0 = a, *restrict a1 = a + (mr > 1 ? 1 : 0) * lda;
    const float *restrict a2 = a + (mr > 2 ? 2 : mr - 1) * lda, *restrict a3 = a + (mr > 3 ? 3 : mr - 1) * lda;
    vf c00 = vzero(), c01 = vzero(), c02 = vzero();
    vf c10 = vzero(), c11 = vzero(), c12 = vzero();
    vf c20 = vzero(), c21 = vzero(), c22 = vzero();
    vf c30 = vzero(), c31 = vzero(), c32 = vzero();
    for (int64_t r = 0; r < R; r++) {
        const float *xr = xb + off[r];
        __builtin_prefetch(xr + PF_DIST);
        __builtin_prefetch(xr + PF_DIST + NRW - 1);
        const vf b0 = vload(xr), b1 = vload(xr + VW), b2 = vload(xr + 2 * VW);
        vf w = vset1(a0[r]);
        c00 = vfmadd(w, b0, c00), c01 = vfmadd(w, b1, c01), c02 = vfmadd(w, b2, c02);
        w = vset1(a1[r]);
        c10 = vfmadd(w, b0, c10), c11 = vfmadd(w, b1, c11), c12 = vfmadd(w, b2, c12);
        w = vset1(a2[r]);
        c20 = vfmadd(w, b0, c20), c21 = vfmadd(w, b1, c21), c22 = vfmadd(w, b2, c22);
        w = vset1(a3[r]);
        c30 = vfmadd(w, b0, c30), c31 = vfmadd(w, b1, c31), c32 = vfmadd(w, b2, c32);
    }
    const vf acc[MR][NV] = {{c00, c01, c02}, {c10, c11, c12}, {c20, c21, c22}, {c30, c31, c32}};
    for (int i = 0; i < mr; i++) {
        float *yr = y + i * ldy;
        const vf bv = vset1(bias ? bias[i] : 0.0f);
        if (nr == NRW) {
            for (int v = 0; v < NV; v++) vstore(yr + v * VW, vadd(acc[i][v], first ? bv : vload(yr + v * VW)));
            continue;
        }
        for (int v = 0; v < NV; v++) {
            const int64_t n = nr - (int64_t)v * VW;
            if (n <= 0) break;
            float *p = yr + v * VW;
            if (n >= VW)
                vstore(p, vadd(acc[i][v], first ? bv : vload(p)));
            else
                vstore_n(p, vadd(acc[i][v], first ? bv : vload_n(p, (int)n)), (int)n);
        }
    }
}

/* One task's share of out = A @ B for one (batch, group): columns [0, T) of the output
 * rows [c0, c1), y[co * ldy + t * cs]. A row co is a + co*lda (R long); B row r is
 * xg[off[r] + t]. Loops, BLIS-like: reduction chunks of KC, then blocks of MCB channels
 * (their A block, MCB x KC, stays in L2 across the task's tiles instead of streaming
 * from L3 for each tile), then tiles of NRW columns, then MR-channel panels.
 *  - with pack, a tile's B block (KC x NRW) is first copied into bbuf, so that the
 *    panels read it from L1, aligned and contiguous (B rows gathered from a large window
 *    are scattered over channels and phases and cross cache lines);
 *  - a strided output (cs > 1, the transposed conv) is summed in acc ((c1 - c0) rows of
 *    T) over all chunks and scattered once, instead of read-modify-written per chunk. */
static void gemm_task(int64_t R, const float *a, int64_t lda, const int64_t *off, const float *xg, float *y,
                      int64_t ldy, int64_t cs, int64_t T, int64_t c0, int64_t c1, const float *bias, int pack,
                      float *bbuf, const int64_t *lin, float *acc) {
    if (!pack && cs == 1 && R <= KC) {
        /* a short reduction from a small window: nothing to reuse across tiles, so go
         * channel-outer and write each output row sequentially */
        for (int64_t co = c0; co < c1; co += MR)
            for (int64_t t = 0; t < T; t += NRW)
                micro_kernel(R, a + co * lda, lda, off, xg + t, y + co * ldy + t, ldy, (int)min64(MR, c1 - co),
                             min64(NRW, T - t), 1, bias ? bias + co : NULL);
        return;
    }
    float *z = cs == 1 ? y : acc; /* where the sums go, and its row stride */
    const int64_t ldz = cs == 1 ? ldy : T, z0 = cs == 1 ? 0 : c0;
    for (int64_t rc = 0; rc < R; rc += KC) {
        const int64_t kc = min64(KC, R - rc);
        for (int64_t cb = c0; cb < c1; cb += MCB) {
            const int64_t cb1 = min64(c1, cb + MCB);
            for (int64_t t = 0; t < T; t += NRW) {
                const int64_t nr = min64(NRW, T - t);
                const float *bx = xg + t;
                const int64_t *bo = off + rc;
                if (pack) {
                    for (int64_t r = 0; r < kc; r++) {
                        const float *src = bx + bo[r];
                        float *dst = bbuf + r * NRW;
                        __builtin_prefetch(src + PF_PACK);
                        __builtin_prefetch(src + PF_PACK + NRW - 1);
                        for (int v = 0; v < NV; v++) vstore(dst + v * VW, vload(src + v * VW));
                    }
                    bx = bbuf;
                    bo = lin;
                }
                for (int64_t co = cb; co < cb1; co += MR)
                    micro_kernel(kc, a + co * lda + rc, lda, bo, bx, z + (co - z0) * ldz + t, ldz,
                                 (int)min64(MR, cb1 - co), nr, rc == 0, bias ? bias + co : NULL);
            }
        }
    }
    if (cs != 1)
        for (int64_t co = c0; co < c1; co++) {
            const float *ar = acc + (co - c0) * T;
            float *yr = y + co * ldy;
            for (int64_t j = 0; j < T; j++) yr[j * cs] = ar[j];
        }
}

/* Tasks: column chunks of each (batch, group), and the output channels of a group cut
 * into pieces (multiples of MR) when there would be too few tasks for the threads. */
typedef struct {
    int64_t n_col, ch_per, n_ch;
} task_split;

static task_split split_tasks(int64_t outer, int64_t cols, int64_t Og, int nt) {
    task_split s;
    s.n_col = ceil_div(cols, NC);
    const int64_t n_pan = ceil_div(Og, MR), base = outer * s.n_col, want = 4 * (int64_t)nt;
    const int64_t pieces = min64(n_pan, base >= want ? 1 : ceil_div(want, base));
    s.ch_per = ceil_div(n_pan, pieces) * MR;
    s.n_ch = ceil_div(Og, s.ch_per);
    return s;
}


/* Scratch of gemm_task per thread: a B tile, then n_acc floats of accumulator (strided
 * outputs); and the offsets r * NRW of a B tile's rows. */
static size_t tile_scratch_bytes(int nt, int64_t n_acc) {
    return slm_arena_need((size_t)nt * ((size_t)KC * NRW + (size_t)n_acc) * sizeof(float)) +
           slm_arena_need(KC * sizeof(int64_t));
}

static void take_tile_scratch(slm_arena *a, int nt, int64_t n_acc, float **bbuf, int64_t **lin) {
    *bbuf = (float *)slm_arena_take(a, (size_t)nt * ((size_t)KC * NRW + (size_t)n_acc) * sizeof(float));
    *lin = (int64_t *)slm_arena_take(a, KC * sizeof(int64_t));
    for (int64_t r = 0; r < KC; r++) (*lin)[r] = r * NRW;
}

/* ---- conv1d ---------------------------------------------------------------------- */

/* ev = p[0], p[2], ..., od = p[1], p[3], ... of the 2*VW floats at p. (simd.h has no
 * shuffle vocabulary yet: this is the one ISA-specific helper of the file.) */
static inline void deinterleave2(const float *p, vf *ev, vf *od) {
#if defined(SLM_SIMD_AVX512)
    const __m512 a = _mm512_loadu_ps(p), b = _mm512_loadu_ps(p + 16);
    const __m512i ie = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i io = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    *ev = _mm512_permutex2var_ps(a, ie, b);
    *od = _mm512_permutex2var_ps(a, io, b);
#else
    const __m256 a = _mm256_loadu_ps(p), b = _mm256_loadu_ps(p + 8);
    /* per 128-bit lane: a0 a2 b0 b2 | a4 a6 b4 b6, then 64-bit chunks reordered 0 2 1 3 */
    const __m256 e = _mm256_shuffle_ps(a, b, 0x88), o = _mm256_shuffle_ps(a, b, 0xDD);
    *ev = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), 0xD8));
    *od = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(o), 0xD8));
#endif
}

/* xw row of one input channel x (L): S phases of PL, phase slot p holding
 * x[j*s + q - lead] at [p*PL + j] for its residue q = res[p] (res NULL: q = p), zero
 * outside [0, L); the rest of the row up to CS is zeroed. Index arithmetic stays
 * within [-lead, L], so a huge stride cannot overflow. */
static void fill_phases(float *restrict row, const float *restrict x, int64_t L, int64_t lead, int64_t s,
                        int64_t S, const int64_t *res, int64_t PL, int64_t CS) {
    int64_t lo[2] = {0, 0}, hi[2] = {0, 0};
    for (int64_t slot = 0; slot < S; slot++) {
        float *ph = row + slot * PL;
        const int64_t p = res ? res[slot] : slot;
        /* j in [j0, j1) reads x[j*s + p - lead] */
        int64_t j0 = p >= lead ? 0 : ceil_div(lead - p, s);
        int64_t j1 = L + lead - p <= 0 ? 0 : ceil_div(L + lead - p, s);
        if (j1 > PL) j1 = PL;
        if (j0 > j1) j0 = j1;
        memset(ph, 0, (size_t)j0 * sizeof(float));
        memset(ph + j1, 0, (size_t)(PL - j1) * sizeof(float));
        if (s == 1) {
            memcpy(ph + j0, x + (j0 + p - lead), (size_t)(j1 - j0) * sizeof(float));
        } else if (s == 2 && S == 2) { /* then res = {0, 1} */
            lo[p] = j0, hi[p] = j1; /* both phases at once below */
        } else {
            const float *xs = x + (j0 * s + p - lead);
            for (int64_t j = j0; j < j1; j++, xs += s) ph[j] = *xs;
        }
    }
    if (s == 2 && S == 2) {
        /* stride 2 (HuBERT, EnCodec): split pairs with vector shuffles where both phases
         * are in range, element by element at the edges */
        float *ph0 = row, *ph1 = row + PL;
        int64_t J0 = lo[0] > lo[1] ? lo[0] : lo[1], J1 = hi[0] < hi[1] ? hi[0] : hi[1];
        if (J1 < J0) J1 = J0;
        for (int64_t p = 0; p < 2; p++) {
            float *ph = row + p * PL;
            for (int64_t j = lo[p]; j < hi[p] && j < J0; j++) ph[j] = x[2 * j + p - lead];
            for (int64_t j = J1 > lo[p] ? J1 : lo[p]; j < hi[p]; j++) ph[j] = x[2 * j + p - lead];
        }
        int64_t j = J0;
        for (; j + VW <= J1; j += VW) {
            vf ev, od;
            deinterleave2(x + 2 * j - lead, &ev, &od);
            vstore(ph0 + j, ev);
            vstore(ph1 + j, od);
        }
        for (; j < J1; j++) {
            ph0[j] = x[2 * j - lead];
            ph1[j] = x[2 * j + 1 - lead];
        }
    }
    memset(row + S * PL, 0, (size_t)(CS - S * PL) * sizeof(float));
}

/* y (T) = b + sum_k w (K)[k] * xw[off[k] + t]: one channel of a depthwise conv */
static void depthwise_row(float *restrict y, const float *restrict xw, const float *restrict w,
                          const int64_t *restrict off, int64_t K, int64_t T, float bias) {
    for (int64_t t = 0; t < T; t += DWB) {
        vf a0 = vset1(bias), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0;
        const float *xt = xw + t;
        for (int64_t k = 0; k < K; k++) {
            const vf wk = vset1(w[k]);
            const float *xr = xt + off[k];
            a0 = vfmadd(wk, vload(xr), a0);
            a1 = vfmadd(wk, vload(xr + VW), a1);
            a2 = vfmadd(wk, vload(xr + 2 * VW), a2);
            a3 = vfmadd(wk, vload(xr + 3 * VW), a3);
            a4 = vfmadd(wk, vload(xr + 4 * VW), a4);
            a5 = vfmadd(wk, vload(xr + 5 * VW), a5);
        }
        const vf acc[6] = {a0, a1, a2, a3, a4, a5};
        for (int v = 0; v < 6; v++) {
            const int64_t n = T - t - (int64_t)v * VW;
            if (n <= 0) break;
            if (n >= VW)
                vstore(y + t + v * VW, acc[v]);
            else
                vstore_n(y + t + v * VW, acc[v], (int)n);
        }
    }
}

slm_status SLM_SIMD_FN(slm_conv1d)(float *out, const float *inp, const float *w, const float *b,
                                   const slm_conv1d_geom *g) {
    static const char fn[] = "conv1d";
    const int64_t N = g->N, Cin = g->Cin, L = g->L, Cout = g->Cout, K = g->K, Lout = g->Lout;
    const int64_t s = g->stride, d = g->dilation, G = g->groups, Cg = Cin / G, Og = Cout / G;
    const int64_t R = Cg * K, pl = g->pad_left;
    const int depthwise = Cg == 1 && Og < MR;
    const int nt = slm_threads();

    /* A task's window: S phases of PL columns (its columns rounded up to whole tiles,
     * plus the largest tap shift). Only the residues (k*d) % s that taps read get a
     * phase slot: they are the multiples of gcd(d, s), all s/gcd of them once K reaches
     * that, else K distinct ones (one per tap). So S <= min(K, s) whatever the stride
     * and dilation. */
    const int64_t cols = depthwise ? DWC : NC;
    const int64_t PL = cols + (K - 1) * d / s + 1;
    int64_t gcd = d, rem = s;
    while (rem) {
        const int64_t t = gcd % rem;
        gcd = rem, rem = t;
    }
    const int all_residues = K >= s / gcd;
    const int64_t S = all_residues ? s / gcd : K;
    int64_t row_len, n_xw;
    SLM_TRY(slm_numel(fn, &row_len, 2, S, PL));
    const int64_t CS = row_stride(row_len);
    SLM_TRY(slm_numel(fn, &n_xw, 4, (int64_t)nt, Cg, CS, (int64_t)sizeof(float)));
    slm_arena arena;
    SLM_TRY(slm_arena_init(&arena,
                           slm_arena_need((size_t)n_xw) + 2 * slm_arena_need((size_t)R * sizeof(int64_t)) +
                               slm_arena_need((size_t)S * sizeof(int64_t)) + tile_scratch_bytes(nt, 0),
                           fn));
    float *xw_all = (float *)slm_arena_take(&arena, (size_t)n_xw);
    int64_t *off = (int64_t *)slm_arena_take(&arena, (size_t)R * sizeof(int64_t));
    int64_t *off_in = (int64_t *)slm_arena_take(&arena, (size_t)R * sizeof(int64_t));
    int64_t *res = (int64_t *)slm_arena_take(&arena, (size_t)S * sizeof(int64_t));
    float *bbuf_all;
    int64_t *lin;
    take_tile_scratch(&arena, nt, 0, &bbuf_all, &lin);
    const int big_window = Cg * CS * (int64_t)sizeof(float) > PACK_MIN_BYTES;

    /* B row of (ci, k): the slot of residue (k*d) % s of channel ci, shifted by
     * (k*d) / s. With stride 1, a task whose reads (tile slack included) stay inside the
     * input reads it in place (off_in) instead of copying a window. */
    for (int64_t p = 0; p < S; p++) res[p] = all_residues ? p * gcd : p * d % s;
    for (int64_t ci = 0; ci < Cg; ci++)
        for (int64_t k = 0; k < K; k++) {
            const int64_t slot = all_residues ? k * d % s / gcd : k;
            off[ci * K + k] = ci * CS + slot * PL + k * d / s;
            off_in[ci * K + k] = ci * L + k * d;
        }

    int stop = 0;
#pragma omp parallel num_threads(nt)
    {
        const int tid = omp_get_thread_num();
        float *xw = xw_all + (int64_t)tid * Cg * CS, *bbuf = bbuf_all + (int64_t)tid * KC * NRW;
        if (depthwise) {
            /* task: (row n*Cout + co, column chunk) */
            const int64_t n_col = ceil_div(Lout, DWC), n_tasks = N * Cout * n_col;
#pragma omp for schedule(dynamic, 1)
            for (int64_t task = 0; task < n_tasks; task++) {
                if (slm_interrupted()) {
                    stop = 1;
                    continue;
                }
                const int64_t row = task / n_col, t0 = task % n_col * DWC, T = min64(DWC, Lout - t0);
                const int64_t n = row / Cout, co = row % Cout, grp = co / Og;
                fill_phases(xw, inp + (n * Cin + grp) * L, L, pl - t0 * s, s, S, res, PL, CS);
                depthwise_row(out + row * Lout + t0, xw, w + co * K, off, K, T, b ? b[co] : 0.0f);
            }
        } else {
            const task_split ts = split_tasks(N * G, Lout, Og, nt);
            const int64_t n_tasks = N * G * ts.n_col * ts.n_ch;
#pragma omp for schedule(dynamic, 1)
            for (int64_t task = 0; task < n_tasks; task++) {
                if (slm_interrupted()) {
                    stop = 1;
                    continue;
                }
                int64_t rest = task;
                const int64_t ch = rest % ts.n_ch;
                rest /= ts.n_ch;
                const int64_t tc = rest % ts.n_col;
                rest /= ts.n_col;
                const int64_t grp = rest % G, n = rest / G;
                const int64_t t0 = tc * NC, T = min64(NC, Lout - t0);
                const int64_t c0 = ch * ts.ch_per, c1 = min64(Og, c0 + ts.ch_per);
                const float *x = inp + (n * Cin + grp * Cg) * L;
                float *y = out + (n * Cout + grp * Og) * Lout + t0;
                const float *bias = b ? b + grp * Og : NULL;
                if (s == 1 && t0 >= pl && t0 - pl + round_up(T, NRW) + (K - 1) * d <= L) {
                    gemm_task(R, w + grp * Og * R, R, off_in, x + (t0 - pl), y, Lout, 1, T, c0, c1, bias,
                              c1 - c0 > MR && Cg * (NC + (K - 1) * d) * (int64_t)sizeof(float) > PACK_MIN_BYTES,
                              bbuf, lin, NULL);
                } else {
                    for (int64_t ci = 0; ci < Cg; ci++)
                        fill_phases(xw + ci * CS, x + ci * L, L, pl - t0 * s, s, S, res, PL, CS);
                    gemm_task(R, w + grp * Og * R, R, off, xw, y, Lout, 1, T, c0, c1, bias,
                              big_window && c1 - c0 > MR, bbuf, lin, NULL);
                }
            }
        }
    }
    slm_arena_release(&arena);
    if (stop) return SLM_INTERRUPTED_ERROR(fn);
    return SLM_OK;
}

/* ---- conv_transpose1d ------------------------------------------------------------ */

slm_status SLM_SIMD_FN(slm_conv_transpose1d)(float *out, const float *inp, const float *w,
                                             const float *b, const slm_convt1d_geom *g) {
    static const char fn[] = "conv_transpose1d";
    const int64_t N = g->N, Cin = g->Cin, L = g->L, Cout = g->Cout, K = g->K, Lout = g->Lout;
    const int64_t s = g->stride, d = g->dilation, P = g->padding, G = g->groups;
    const int64_t Cg = Cin / G, Og = Cout / G;
    const int nt = slm_threads();

    /* Phase i (0 <= i < nq) holds the outputs t = i + j*s, j < M_i. With u = t + P =
     * m*s + q (q = (i + P) % s, m = m0_i + j), tap k lands there when (k*d) % s == q,
     * reading input m - (k*d) / s. Only min(s, Lout) phases have outputs, which also
     * keeps a huge stride cheap.
     * A task computes columns [j0, j0 + NT) of every phase, so that the s phases that
     * interleave into one stretch of output write it while it is still in cache (phase
     * by phase over the whole output would touch every output line s times). NT shrinks
     * with the stride to keep that stretch (NT*s columns) small. The task's window holds
     * the inputs m - shift of its columns: m0_i differ by at most 1 across phases, so
     * one window, from m0_0 + j0 - PADL (PADL the largest shift), serves them all. */
    const int64_t nq = min64(s, Lout);
    const int64_t PADL = (K - 1) * d / s;
    const int64_t NT = min64(NCB, s >= 2 * NCB ? 1 : 2 * NCB / s) * NRW;
    const int64_t CS = row_stride(PADL + NT + 2);
    int64_t n_acc, n_scalars, n_rk, n_a, n_xw;
    SLM_TRY(slm_numel(fn, &n_acc, 2, round_up(Og, MR), NT)); /* accumulator of gemm_task */
    SLM_CHECK(n_acc < INT64_MAX / 8, fn, "too many output channels (%lld)", (long long)Og);
    SLM_TRY(slm_numel(fn, &n_scalars, 2, 4 * nq + K, (int64_t)sizeof(int64_t)));
    SLM_TRY(slm_numel(fn, &n_rk, 2, Cg, K));
    SLM_TRY(slm_numel(fn, &n_a, 4, G, Og, n_rk, (int64_t)sizeof(float)));
    SLM_TRY(slm_numel(fn, &n_xw, 4, (int64_t)nt, Cg, CS, (int64_t)sizeof(float)));
    int64_t n_tile; /* the size tile_scratch_bytes adds up, checked */
    SLM_TRY(slm_numel(fn, &n_tile, 3, (int64_t)nt, (int64_t)KC * NRW + n_acc, (int64_t)sizeof(float)));
    slm_arena arena;
    SLM_TRY(slm_arena_init(&arena,
                           slm_arena_need((size_t)n_xw) + slm_arena_need((size_t)n_a) +
                               slm_arena_need((size_t)n_rk * sizeof(int64_t)) +
                               slm_arena_need((size_t)n_scalars) + tile_scratch_bytes(nt, n_acc),
                           fn));
    float *xw_all = (float *)slm_arena_take(&arena, (size_t)n_xw);
    float *A = (float *)slm_arena_take(&arena, (size_t)n_a);
    int64_t *off = (int64_t *)slm_arena_take(&arena, (size_t)n_rk * sizeof(int64_t));
    int64_t *ph = (int64_t *)slm_arena_take(&arena, (size_t)n_scalars);
    float *bbuf_all;
    int64_t *lin;
    take_tile_scratch(&arena, nt, n_acc, &bbuf_all, &lin);
    const int big_window = Cg * CS * (int64_t)sizeof(float) > PACK_MIN_BYTES;
    int64_t *ph_taps = ph, *ph_first = ph + nq, *ph_m0 = ph + 2 * nq, *ph_M = ph + 3 * nq, *tap_k = ph + 4 * nq;

    /* taps bucketed by phase (counting sort, k ascending within a phase): phase i's taps
     * are tap_k[ph_first[i] .. + ph_taps[i]); taps that land on no output are dropped */
    const int64_t Pm = P % s;
    memset(ph_taps, 0, (size_t)nq * sizeof(int64_t));
    for (int64_t k = 0; k < K; k++) {
        const int64_t q = k * d % s, i = q >= Pm ? q - Pm : q - Pm + s;
        if (i < nq) ph_taps[i]++;
    }
    int64_t used = 0;
    for (int64_t i = 0; i < nq; i++) {
        ph_first[i] = used;
        used += ph_taps[i];
        ph_taps[i] = 0; /* refilled below */
        ph_m0[i] = (i + P) / s;
        ph_M[i] = ceil_div(Lout - i, s);
    }
    for (int64_t k = 0; k < K; k++) {
        const int64_t q = k * d % s, i = q >= Pm ? q - Pm : q - Pm + s;
        if (i < nq) tap_k[ph_first[i] + ph_taps[i]++] = k;
    }
    /* B rows of phase i, r = ci * taps + j: off[Cg * ph_first[i] + r] */
    for (int64_t i = 0; i < nq; i++)
        for (int64_t ci = 0; ci < Cg; ci++)
            for (int64_t j = 0; j < ph_taps[i]; j++)
                off[Cg * ph_first[i] + ci * ph_taps[i] + j] = ci * CS + PADL - tap_k[ph_first[i] + j] * d / s;

    int stop = 0;
#pragma omp parallel num_threads(nt)
    {
        const int tid = omp_get_thread_num();
        float *xw = xw_all + (int64_t)tid * Cg * CS, *bbuf = bbuf_all + (int64_t)tid * ((int64_t)KC * NRW + n_acc);
        /* A of (grp, phase i): rows (Og, Ri) with Ri = Cg * taps_i, from w (Cin, Og, K),
         * at A + (grp * Cg * K + Cg * ph_first[i]) * Og */
#pragma omp for schedule(static)
        for (int64_t gi = 0; gi < G * nq; gi++) {
            const int64_t grp = gi / nq, i = gi % nq, taps = ph_taps[i], Ri = Cg * taps;
            float *ai = A + (grp * Cg * K + Cg * ph_first[i]) * Og;
            for (int64_t co = 0; co < Og; co++)
                for (int64_t ci = 0; ci < Cg; ci++)
                    for (int64_t j = 0; j < taps; j++)
                        ai[co * Ri + ci * taps + j] = w[((grp * Cg + ci) * Og + co) * K + tap_k[ph_first[i] + j]];
        }

        const int64_t n_col = ceil_div(ph_M[0], NT);
        const task_split ts = split_tasks(N * G * n_col, 1, Og, nt);
        const int64_t n_tasks = N * G * n_col * ts.n_ch;
#pragma omp for schedule(dynamic, 1)
        for (int64_t task = 0; task < n_tasks; task++) {
            if (slm_interrupted()) {
                stop = 1;
                continue;
            }
            int64_t rest = task;
            const int64_t ch = rest % ts.n_ch;
            rest /= ts.n_ch;
            const int64_t j0 = rest % n_col * NT;
            rest /= n_col;
            const int64_t grp = rest % G, n = rest / G;
            const int64_t c0 = ch * ts.ch_per, c1 = min64(Og, c0 + ts.ch_per);
            /* window: xw[ci][u] = x[m0_0 + j0 - PADL + u], zero outside [0, L) */
            const float *x = inp + (n * Cin + grp * Cg) * L;
            for (int64_t ci = 0; ci < Cg; ci++)
                fill_phases(xw + ci * CS, x + ci * L, L, PADL - ph_m0[0] - j0, 1, 1, NULL, CS, CS);
            for (int64_t i = 0; i < nq; i++) {
                if (j0 >= ph_M[i]) continue;
                const int64_t T = min64(NT, ph_M[i] - j0), Ri = Cg * ph_taps[i];
                /* output j of the phase: out[.., i + j*s] */
                float *y = out + (n * Cout + grp * Og) * Lout + i + j0 * s;
                if (Ri == 0) { /* no tap lands on this phase: bias only */
                    for (int64_t co = c0; co < c1; co++) {
                        const float v = b ? b[grp * Og + co] : 0.0f;
                        for (int64_t j = 0; j < T; j++) y[co * Lout + j * s] = v;
                    }
                    continue;
                }
                gemm_task(Ri, A + (grp * Cg * K + Cg * ph_first[i]) * Og, Ri, off + Cg * ph_first[i],
                          xw + (ph_m0[i] - ph_m0[0]), y, Lout, s, T, c0, c1, b ? b + grp * Og : NULL,
                          big_window && c1 - c0 > MR, bbuf, lin, bbuf + KC * NRW);
            }
        }
    }
    slm_arena_release(&arena);
    if (stop) return SLM_INTERRUPTED_ERROR(fn);
    return SLM_OK;
}
