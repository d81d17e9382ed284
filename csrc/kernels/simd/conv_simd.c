/* conv_simd.c: conv1d and conv_transpose1d on AVX2 / AVX-512 (one source, see simd.h).
 *
 * Both ops become an implicit GEMM per group: out (Og, T) = A (Og, R) @ B (R, T), where
 * A is the weight reshaped (packed once per call into MR-row panels) and each row r of B
 * is a shifted window of one input channel. The input is first copied into a scratch
 * buffer `xb` laid out so that every B row is contiguous in t, which removes both the
 * im2col copy and all bounds checks from the inner loop:
 *   conv1d: xb holds the zero-padded input split into `stride` phases (padded sample
 *     i = j*stride + p lands at [p][j]), so tap k of output t reads phase (k*d) % s at
 *     index t + (k*d) / s: a strided conv becomes stride-1 reads.
 *   conv_transpose1d: the polyphase form. Output u = t + padding = m*s + q receives tap
 *     k only when k*d = q + a*s (mod s), from input m - a; so each output phase q is a
 *     stride-1 correlation over m with the taps of that phase, and no zero is ever
 *     multiplied (no zero-stuffing). Its outputs are scattered with stride s.
 * The micro-kernel computes an MR x (NV*VW) tile with MR*NV accumulators in registers;
 * the reduction is split into KC-long chunks so that A's panel stays in L1 and the B
 * block of a task (KC x NC) in L2. Tasks (batch, group, column chunk, channel chunk) are
 * spread over the threads. Grouped convs with one input channel and fewer than MR
 * outputs per group (depthwise) use a plain vector loop over t instead.
 *
 * Shapes: N batch, Cin/Cout channels, G groups, Cg = Cin/G, Og = Cout/G, K taps,
 * L input length, Lout output length, R = Cg*K reduction length (per phase for the
 * transposed conv).
 */
#include <string.h>

#include "simd.h"
#include "../conv.h"

#define MR 4          /* output channels per micro-tile */
#define NV 3          /* vectors per micro-tile row */
#define NRW (NV * VW) /* output columns per micro-tile */
#define KC 256        /* reduction chunk: A panel MR x KC stays in L1 */
#define NCB 8         /* micro-tiles per task column chunk: B block KC x NC in L2 */
#define NC (NCB * NRW)
#define DWB (2 * NRW) /* columns per step of the depthwise loop */

/* a, b >= 0; no overflow even for b near INT64_MAX */
static inline int64_t ceil_div(int64_t a, int64_t b) { return a / b + (a % b != 0); }
static inline int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

/* Row stride of xb: a multiple of 16 floats with an odd number of 64-byte lines, so that
 * the B rows of neighbouring channels fall in different L1 sets (a power-of-two stride
 * would put all of them in one set and thrash it). */
static int64_t row_stride(int64_t len) {
    int64_t cs = round_up(len, 16);
    if ((cs / 16) % 2 == 0) cs += 16;
    return cs;
}

/* y (mr, nr) at column stride cs = [first ? bias : y] + sum_{r < R} A (R, MR)[r] (x)
 * xb[off[r] + 0..NRW)  (the tile's columns beyond nr and rows beyond mr are computed
 * and dropped) */
static inline void micro_kernel(int64_t R, const float *restrict A, const int64_t *restrict off,
                                const float *restrict xb, float *restrict y, int64_t ldy, int64_t cs,
                                int mr, int64_t nr, int first, const float *bias) {
    vf c00 = vzero(), c01 = vzero(), c02 = vzero();
    vf c10 = vzero(), c11 = vzero(), c12 = vzero();
    vf c20 = vzero(), c21 = vzero(), c22 = vzero();
    vf c30 = vzero(), c31 = vzero(), c32 = vzero();
    for (int64_t r = 0; r < R; r++) {
        const float *xr = xb + off[r];
        const vf b0 = vload(xr), b1 = vload(xr + VW), b2 = vload(xr + 2 * VW);
        vf a = vset1(A[0]);
        c00 = vfmadd(a, b0, c00), c01 = vfmadd(a, b1, c01), c02 = vfmadd(a, b2, c02);
        a = vset1(A[1]);
        c10 = vfmadd(a, b0, c10), c11 = vfmadd(a, b1, c11), c12 = vfmadd(a, b2, c12);
        a = vset1(A[2]);
        c20 = vfmadd(a, b0, c20), c21 = vfmadd(a, b1, c21), c22 = vfmadd(a, b2, c22);
        a = vset1(A[3]);
        c30 = vfmadd(a, b0, c30), c31 = vfmadd(a, b1, c31), c32 = vfmadd(a, b2, c32);
        A += MR;
    }
    const vf acc[MR][NV] = {{c00, c01, c02}, {c10, c11, c12}, {c20, c21, c22}, {c30, c31, c32}};
    if (cs == 1) {
        for (int i = 0; i < mr; i++) {
            float *yr = y + i * ldy;
            const vf bv = vset1(bias ? bias[i] : 0.0f);
            for (int v = 0; v < NV; v++) {
                const int64_t n = nr - (int64_t)v * VW;
                if (n <= 0) break;
                float *p = yr + v * VW;
                if (n >= VW) {
                    vstore(p, vadd(acc[i][v], first ? bv : vload(p)));
                } else {
                    vstore_n(p, vadd(acc[i][v], first ? bv : vload_n(p, (int)n)), (int)n);
                }
            }
        }
    } else {
        float tile[MR][NRW] __attribute__((aligned(64)));
        for (int i = 0; i < mr; i++)
            for (int v = 0; v < NV; v++) vstore(&tile[i][v * VW], acc[i][v]);
        for (int i = 0; i < mr; i++) {
            float *yr = y + i * ldy;
            const float bi = bias ? bias[i] : 0.0f;
            if (first)
                for (int64_t j = 0; j < nr; j++) yr[j * cs] = tile[i][j] + bi;
            else
                for (int64_t j = 0; j < nr; j++) yr[j * cs] += tile[i][j];
        }
    }
}

/* Split the columns of each (batch, group) into chunks of NC, and the MR-panels of
 * output channels into pieces when there would be too few tasks for the threads. */
typedef struct {
    int64_t n_col, n_pan, pan_per, n_pan_chunks;
} task_split;

static task_split split_tasks(int64_t outer, int64_t cols, int64_t n_pan, int nt) {
    task_split s;
    s.n_col = ceil_div(cols, NC);
    s.n_pan = n_pan;
    int64_t base = outer * s.n_col, want = 4 * (int64_t)nt;
    int64_t chunks = base >= want ? 1 : ceil_div(want, base);
    if (chunks > n_pan) chunks = n_pan;
    s.pan_per = ceil_div(n_pan, chunks);
    s.n_pan_chunks = ceil_div(n_pan, s.pan_per);
    return s;
}

/* ---- conv1d ---------------------------------------------------------------------- */

/* xb row (CS) of one input channel x (L): zero-padded by pl, split into S phases of PL
 * (padded sample i = j*s + p at [p*PL + j]); index arithmetic stays below L + pl, so a
 * huge stride cannot overflow */
static void fill_phases(float *restrict row, const float *restrict x, int64_t L, int64_t pl, int64_t s,
                        int64_t S, int64_t PL, int64_t CS) {
    for (int64_t p = 0; p < S; p++) {
        float *ph = row + p * PL;
        /* j in [j0, j1) reads x[j*s + p - pl] */
        int64_t j0 = p >= pl ? 0 : ceil_div(pl - p, s);
        int64_t j1 = L + pl - p <= 0 ? 0 : ceil_div(L + pl - p, s);
        if (j1 > PL) j1 = PL;
        if (j0 > j1) j0 = j1;
        memset(ph, 0, (size_t)j0 * sizeof(float));
        if (s == 1) {
            memcpy(ph + j0, x + (j0 + p - pl), (size_t)(j1 - j0) * sizeof(float));
        } else {
            const float *xs = x + (j0 * s + p - pl);
            for (int64_t j = j0; j < j1; j++, xs += s) ph[j] = *xs;
        }
        memset(ph + j1, 0, (size_t)(PL - j1) * sizeof(float));
    }
    memset(row + S * PL, 0, (size_t)(CS - S * PL) * sizeof(float));
}

/* y (Lout) = b + sum_k w (K)[k] * xb[off[k] + t]: one channel of a depthwise conv */
static void depthwise_row(float *restrict y, const float *restrict xb, const float *restrict w,
                          const int64_t *restrict off, int64_t K, int64_t Lout, float bias) {
    for (int64_t t = 0; t < Lout; t += DWB) {
        vf a0 = vset1(bias), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0;
        const float *xt = xb + t;
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
            const int64_t n = Lout - t - (int64_t)v * VW;
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
    const int64_t R = Cg * K;
    const int depthwise = Cg == 1 && Og < MR;
    const int nt = slm_threads();

    /* S phases of PL columns: tiles read up to round_up(Lout, DWB) + the largest shift.
     * Taps read phases (k*d) % s <= d*(K-1) < L + pads, so at most that many exist. */
    const int64_t PL = round_up(Lout, DWB) + (K - 1) * d / s + 1;
    const int64_t S = s < (K - 1) * d + 1 ? s : (K - 1) * d + 1;
    int64_t row_len, CS, n_xb, n_a, n_off = K > R ? K : R;
    SLM_TRY(slm_numel(fn, &row_len, 2, S, PL));
    CS = row_stride(row_len);
    const int64_t n_pan = ceil_div(Og, MR);
    SLM_TRY(slm_numel(fn, &n_xb, 4, N, Cin, CS, (int64_t)sizeof(float)));
    SLM_TRY(slm_numel(fn, &n_a, 5, G, n_pan, (int64_t)MR, R, (int64_t)sizeof(float)));
    if (depthwise) n_a = 0;
    slm_arena arena;
    SLM_TRY(slm_arena_init(&arena,
                           slm_arena_need((size_t)n_xb) + slm_arena_need((size_t)n_a) +
                               slm_arena_need((size_t)n_off * sizeof(int64_t)),
                           fn));
    float *xb = (float *)slm_arena_take(&arena, (size_t)n_xb);
    float *A = n_a ? (float *)slm_arena_take(&arena, (size_t)n_a) : NULL;
    int64_t *off = (int64_t *)slm_arena_take(&arena, (size_t)n_off * sizeof(int64_t));

    /* B row of (ci, k): phase (k*d) % s of channel ci, shifted by (k*d) / s */
    for (int64_t ci = 0; ci < Cg; ci++)
        for (int64_t k = 0; k < K; k++) off[ci * K + k] = ci * CS + (k * d % s) * PL + k * d / s;

    int stop = 0;
#pragma omp parallel num_threads(nt)
    {
#pragma omp for schedule(static)
        for (int64_t row = 0; row < N * Cin; row++)
            fill_phases(xb + row * CS, inp + row * L, L, g->pad_left, s, S, PL, CS);
        if (A) {
            /* A panel (grp, pb): (R, MR), zero rows past Og; w rows are already (Og, R) */
#pragma omp for schedule(static)
            for (int64_t gp = 0; gp < G * n_pan; gp++) {
                const int64_t grp = gp / n_pan, pb = gp % n_pan;
                float *ap = A + gp * R * MR;
                for (int i = 0; i < MR; i++) {
                    const int64_t co = pb * MR + i;
                    const float *wr = w + (grp * Og + co) * R;
                    if (co < Og)
                        for (int64_t r = 0; r < R; r++) ap[r * MR + i] = wr[r];
                    else
                        for (int64_t r = 0; r < R; r++) ap[r * MR + i] = 0.0f;
                }
            }
        }

        if (depthwise) {
#pragma omp for schedule(dynamic, 1)
            for (int64_t row = 0; row < N * Cout; row++) {
                if (slm_interrupted()) {
                    stop = 1;
                    continue;
                }
                const int64_t n = row / Cout, co = row % Cout, grp = co / Og;
                depthwise_row(out + row * Lout, xb + (n * Cin + grp) * CS, w + co * K, off, K, Lout,
                              b ? b[co] : 0.0f);
            }
        } else {
            const task_split ts = split_tasks(N * G, Lout, n_pan, nt);
            const int64_t n_tasks = N * G * ts.n_col * ts.n_pan_chunks;
#pragma omp for schedule(dynamic, 1)
            for (int64_t task = 0; task < n_tasks; task++) {
                if (slm_interrupted()) {
                    stop = 1;
                    continue;
                }
                int64_t rest = task;
                const int64_t pc = rest % ts.n_pan_chunks;
                rest /= ts.n_pan_chunks;
                const int64_t tc = rest % ts.n_col;
                rest /= ts.n_col;
                const int64_t grp = rest % G, n = rest / G;
                const float *xg = xb + (n * Cin + grp * Cg) * CS;
                float *yg = out + (n * Cout + grp * Og) * Lout;
                const int64_t t0 = tc * NC, t1 = t0 + NC < Lout ? t0 + NC : Lout;
                const int64_t p0 = pc * ts.pan_per, p1 = p0 + ts.pan_per < n_pan ? p0 + ts.pan_per : n_pan;
                for (int64_t rc = 0; rc < R; rc += KC) {
                    const int64_t kc = R - rc < KC ? R - rc : KC;
                    for (int64_t pb = p0; pb < p1; pb++) {
                        const float *ap = A + ((grp * n_pan + pb) * R + rc) * MR;
                        const int mr = (int)(Og - pb * MR < MR ? Og - pb * MR : MR);
                        const float *bias = b ? b + grp * Og + pb * MR : NULL;
                        for (int64_t t = t0; t < t1; t += NRW)
                            micro_kernel(kc, ap, off + rc, xg + t, yg + pb * MR * Lout + t, Lout, 1, mr,
                                         t1 - t < NRW ? t1 - t : NRW, rc == 0, bias);
                    }
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
     * keeps a huge stride cheap. */
    const int64_t nq = s < Lout ? s : Lout;
    const int64_t PADL = (K - 1) * d / s; /* the largest input shift: left zeros of xb */
    int64_t n_scalars, n_off, n_xb, n_a;
    SLM_TRY(slm_numel(fn, &n_scalars, 2, 4 * nq + K, (int64_t)sizeof(int64_t)));
    SLM_TRY(slm_numel(fn, &n_off, 2, Cg, K));
    const int64_t n_pan = ceil_div(Og, MR);
    SLM_TRY(slm_numel(fn, &n_a, 5, G, n_pan, (int64_t)MR, n_off, (int64_t)sizeof(float)));
    /* xb row: up to the furthest tile column of any phase */
    int64_t m_end = L;
    for (int64_t i = 0; i < nq; i++) {
        const int64_t e = (i + P) / s + round_up(ceil_div(Lout - i, s), NRW);
        if (e > m_end) m_end = e;
    }
    const int64_t CS = row_stride(PADL + m_end + 1);
    SLM_TRY(slm_numel(fn, &n_xb, 4, N, Cin, CS, (int64_t)sizeof(float)));
    slm_arena arena;
    SLM_TRY(slm_arena_init(&arena,
                           slm_arena_need((size_t)n_xb) + slm_arena_need((size_t)n_a) +
                               slm_arena_need((size_t)n_off * sizeof(int64_t)) +
                               slm_arena_need((size_t)n_scalars),
                           fn));
    float *xb = (float *)slm_arena_take(&arena, (size_t)n_xb);
    float *A = (float *)slm_arena_take(&arena, (size_t)n_a);
    int64_t *off = (int64_t *)slm_arena_take(&arena, (size_t)n_off * sizeof(int64_t));
    int64_t *ph = (int64_t *)slm_arena_take(&arena, (size_t)n_scalars);
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
    /* B rows of phase i: off[Cg * ph_first[i] + ci * taps + j] */
    for (int64_t i = 0; i < nq; i++)
        for (int64_t ci = 0; ci < Cg; ci++)
            for (int64_t j = 0; j < ph_taps[i]; j++)
                off[Cg * ph_first[i] + ci * ph_taps[i] + j] = ci * CS + PADL - tap_k[ph_first[i] + j] * d / s;

    int stop = 0;
#pragma omp parallel num_threads(nt)
    {
#pragma omp for schedule(static)
        for (int64_t row = 0; row < N * Cin; row++) {
            float *xr = xb + row * CS;
            memset(xr, 0, (size_t)PADL * sizeof(float));
            memcpy(xr + PADL, inp + row * L, (size_t)L * sizeof(float));
            memset(xr + PADL + L, 0, (size_t)(CS - PADL - L) * sizeof(float));
        }
        /* A of (grp, phase i, panel): (Cg * taps_i, MR) from w (Cin, Og, K) */
#pragma omp for schedule(static)
        for (int64_t gp = 0; gp < G * n_pan; gp++) {
            const int64_t grp = gp / n_pan, pb = gp % n_pan;
            for (int64_t i = 0; i < nq; i++) {
                const int64_t taps = ph_taps[i];
                float *ap = A + grp * n_pan * MR * Cg * K + Cg * ph_first[i] * n_pan * MR + pb * Cg * taps * MR;
                for (int64_t ci = 0; ci < Cg; ci++)
                    for (int64_t j = 0; j < taps; j++) {
                        const int64_t k = tap_k[ph_first[i] + j];
                        float *dst = ap + (ci * taps + j) * MR;
                        for (int r = 0; r < MR; r++) {
                            const int64_t co = pb * MR + r;
                            dst[r] = co < Og ? w[((grp * Cg + ci) * Og + co) * K + k] : 0.0f;
                        }
                    }
            }
        }

        const task_split ts = split_tasks(N * G * nq, ph_M[0], n_pan, nt);
        const int64_t n_tasks = N * G * nq * ts.n_col * ts.n_pan_chunks;
#pragma omp for schedule(dynamic, 1)
        for (int64_t task = 0; task < n_tasks; task++) {
            if (slm_interrupted()) {
                stop = 1;
                continue;
            }
            int64_t rest = task;
            const int64_t pc = rest % ts.n_pan_chunks;
            rest /= ts.n_pan_chunks;
            const int64_t mc = rest % ts.n_col;
            rest /= ts.n_col;
            const int64_t i = rest % nq;
            rest /= nq;
            const int64_t grp = rest % G, n = rest / G;
            const int64_t M = ph_M[i];
            const int64_t c0 = mc * NC, c1 = c0 + NC < M ? c0 + NC : M;
            if (c0 >= c1) continue;
            const int64_t p0 = pc * ts.pan_per, p1 = p0 + ts.pan_per < n_pan ? p0 + ts.pan_per : n_pan;
            const int64_t Ri = Cg * ph_taps[i];
            const float *xg = xb + (n * Cin + grp * Cg) * CS + ph_m0[i];
            float *yg = out + (n * Cout + grp * Og) * Lout + i; /* output j of the phase: yg[j*s] */
            if (Ri == 0) { /* no tap lands on this phase: bias only */
                for (int64_t co = p0 * MR; co < p1 * MR && co < Og; co++) {
                    const float v = b ? b[grp * Og + co] : 0.0f;
                    for (int64_t c = c0; c < c1; c++) yg[co * Lout + c * s] = v;
                }
                continue;
            }
            const float *Ai = A + grp * n_pan * MR * Cg * K + Cg * ph_first[i] * n_pan * MR;
            const int64_t *offi = off + Cg * ph_first[i];
            for (int64_t rc = 0; rc < Ri; rc += KC) {
                const int64_t kc = Ri - rc < KC ? Ri - rc : KC;
                for (int64_t pb = p0; pb < p1; pb++) {
                    const float *ap = Ai + (pb * Ri + rc) * MR;
                    const int mr = (int)(Og - pb * MR < MR ? Og - pb * MR : MR);
                    const float *bias = b ? b + grp * Og + pb * MR : NULL;
                    for (int64_t c = c0; c < c1; c += NRW)
                        micro_kernel(kc, ap, offi + rc, xg + c, yg + pb * MR * Lout + c * s, Lout, s, mr,
                                     c1 - c < NRW ? c1 - c : NRW, rc == 0, bias);
                }
            }
        }
    }
    slm_arena_release(&arena);
    if (stop) return SLM_INTERRUPTED_ERROR(fn);
    return SLM_OK;
}
