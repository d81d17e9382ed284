/* gemm.c (simd): the GEMM core of the AVX2 and AVX-512 paths, one source for both.
 *
 * Every linear layer, projection, im2col convolution and attention product of the
 * engine ends here. Two algorithms, chosen by shape:
 *
 * - Blocked GEMM (Goto/BLIS style) for more than GEMV_MAX_M rows. B is packed into
 *   NR-column micro-panels (KC deep; shared by all threads; bf16 widened to float here;
 *   a linear weight, stored (N, K), is transposed in 8 x 8 tiles) and A into MR-row
 *   micro-panels; a register-tiled micro-kernel keeps an MR x NR tile of C in 2*MR
 *   vector registers (AVX2: 6 x 16 in 12 ymm; AVX-512: 14 x 32 in 28 zmm) and does
 *   2*MR FMAs per k step against two vector loads of B and MR broadcasts of A. Work
 *   goes in rounds (see gemm_blocked): pack, then a grid of tasks (up to MC rows x
 *   NSUB columns, each over all of K) handed out dynamically, so that it balances on
 *   any thread count; a task keeps its A block (MC x KC) in L2 and one B micro-panel
 *   (KC x NR) in L1.
 *
 * - GEMV for M <= GEMV_MAX_M (single-token decode, batch of a few frames): memory bound,
 *   so B is streamed exactly once, straight from the caller's layout (short rows one at
 *   a time, long rows several side by side, a strip of columns for a (K, N) layout),
 *   with software prefetch, in parallel over N; bf16 weights halve the bytes and are
 *   widened in registers. With N small and M large the same code runs on the
 *   transposed problem (C^T = op(B)^T op(A)^T), which the output strides express
 *   without copying.
 *
 * Measured on Zen 3 (fp32 peak 101.8 GFLOP/s a core), same process as torch 2.13:
 * 512 x 896 x 4864 (Qwen2-0.5B FFN up, 512 tokens) 88-91% of peak on 1 thread, 86-88%
 * on 2; 1024^3 89%; the single-token GEMV reads W from DRAM at 100-140% of a plain
 * streaming read (several streams), bf16 weights likewise in half the time.
 *
 * The K == 0 and empty cases are handled by the caller (csrc/kernels/gemm.c).
 */
#include <string.h>

#include "simd.h"
#include "../gemm.h"

#define SLM_INLINE static inline __attribute__((always_inline))

#if VW == 16
#define MR 14 /* 28 accumulators + 2 B vectors + 1 broadcast = 31 of 32 zmm */
#else
#define MR 6 /* 12 accumulators + 2 + 1 = 15 of 16 ymm */
#endif
#define NR (2 * VW)
#define KC 256          /* inner block: A micro-panel MR*KC and B micro-panel KC*NR floats */
#define MC (MR * 16)    /* rows of a task's A block (L2) */
#define NSUB (NR * 16)  /* columns of a task (at most) */
#define GEMV_MAX_M 16   /* at most this many rows: stream B once (GEMV) */
#define GEMV_MB 4       /* rows of X per GEMV pass */

static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t round_up(int64_t a, int64_t m) { return (a + m - 1) / m * m; }

static inline float bf16_to_f32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* ======================================================================================
 * Blocked GEMM
 * ====================================================================================== */

/* pa (kc, MR) = op(A)[i0 : i0+m, k0 : k0+kc] transposed into k-major order; rows past
 * m are zero so that the micro-kernel always runs a full MR tile */
static void pack_a(float *restrict pa, const slm_gemm_args *g, int64_t i0, int64_t m, int64_t k0,
                   int64_t kc) {
    if (!g->trans_a) {
        const float *rows[MR];
        for (int i = 0; i < MR; i++) rows[i] = g->A + (i0 + (i < m ? i : 0)) * g->lda + k0;
        if (m == MR) {
            for (int64_t k = 0; k < kc; k++)
                for (int i = 0; i < MR; i++) pa[k * MR + i] = rows[i][k];
        } else {
            for (int64_t k = 0; k < kc; k++)
                for (int i = 0; i < MR; i++) pa[k * MR + i] = i < m ? rows[i][k] : 0.0f;
        }
    } else {
        for (int64_t k = 0; k < kc; k++) {
            const float *src = g->A + (k0 + k) * g->lda + i0;
            for (int i = 0; i < MR; i++) pa[k * MR + i] = i < m ? src[i] : 0.0f;
        }
    }
}

/* 8x8 transpose of r[0..7] in place (r[t] becomes column t). Written with 256-bit AVX
 * on purpose: the AVX-512 build (which also has AVX2) runs the very same code, so the
 * packing logic is identical on both paths and is tested on AVX2 machines. */
static inline void transpose8(__m256 r[8]) {
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xee);
    __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xee);
    __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xee);
    __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xee);
    r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
    r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
    r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
    r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
    r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
    r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
    r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
    r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

static inline __m256 load8_bf16(const uint16_t *p) {
    __m128i h = _mm_loadu_si128((const __m128i *)p);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

/* pb (kc, NR) = op(B)[k0 : k0+kc, j0 : j0+n], columns past n zero */
static void pack_b(float *restrict pb, const slm_gemm_b *B, int64_t j0, int64_t n, int64_t k0,
                   int64_t kc) {
    if (!B->trans) {
        /* rows of B are contiguous in j: two vector copies per k */
        int n0 = (int)min64(n, VW), n1 = (int)(n - n0);
        for (int64_t k = 0; k < kc; k++) {
            int64_t off = (k0 + k) * B->ld + j0;
            vf v0, v1;
            if (B->f32) {
                const float *s = B->f32 + off;
                v0 = n0 == VW ? vload(s) : vload_n(s, n0);
                v1 = n1 == VW ? vload(s + VW) : n1 > 0 ? vload_n(s + VW, n1) : vzero();
            } else {
                const uint16_t *s = B->bf16 + off;
                v0 = n0 == VW ? vload_bf16(s) : vload_bf16_n(s, n0);
                v1 = n1 == VW ? vload_bf16(s + VW) : n1 > 0 ? vload_bf16_n(s + VW, n1) : vzero();
            }
            vstore(pb + k * NR, v0);
            vstore(pb + k * NR + VW, v1);
        }
        return;
    }
    /* B stored (N, K), as a linear weight: a transpose, in 8 x 8 tiles (8 rows of B,
     * 8 consecutive k) where whole tiles fit, element by element elsewhere */
    int64_t jfull = n / 8 * 8, kfull = kc / 8 * 8;
    for (int64_t jg = 0; jg < jfull; jg += 8) {
        for (int64_t k = 0; k < kfull; k += 8) {
            __m256 r[8];
            if (B->f32) {
                const float *s = B->f32 + (j0 + jg) * B->ld + k0 + k;
                for (int t = 0; t < 8; t++) r[t] = _mm256_loadu_ps(s + t * B->ld);
            } else {
                const uint16_t *s = B->bf16 + (j0 + jg) * B->ld + k0 + k;
                for (int t = 0; t < 8; t++) r[t] = load8_bf16(s + t * B->ld);
            }
            transpose8(r);
            for (int t = 0; t < 8; t++) _mm256_storeu_ps(pb + (k + t) * NR + jg, r[t]);
        }
    }
    for (int64_t j = 0; j < NR; j++) {
        int64_t kstart = j < jfull ? kfull : 0; /* what the tiles did not cover */
        if (j >= n) {
            for (int64_t k = 0; k < kc; k++) pb[k * NR + j] = 0.0f;
        } else if (B->f32) {
            const float *s = B->f32 + (j0 + j) * B->ld + k0;
            for (int64_t k = kstart; k < kc; k++) pb[k * NR + j] = s[k];
        } else {
            const uint16_t *s = B->bf16 + (j0 + j) * B->ld + k0;
            for (int64_t k = kstart; k < kc; k++) pb[k * NR + j] = bf16_to_f32(s[k]);
        }
    }
}

/* c (cnt floats, 1 <= cnt <= VW) = alpha*acc + (first ? beta*c + bias : c) */
SLM_INLINE void store_tile_vec(float *c, vf acc, int cnt, vf valpha, float beta, const float *bias,
                               int first) {
    vf r = vmul(acc, valpha);
    if (cnt == VW) {
        if (!first) {
            r = vadd(r, vload(c));
        } else {
            if (beta != 0.0f) r = vfmadd(vset1(beta), vload(c), r);
            if (bias) r = vadd(r, vload(bias));
        }
        vstore(c, r);
    } else {
        if (!first) {
            r = vadd(r, vload_n(c, cnt));
        } else {
            if (beta != 0.0f) r = vfmadd(vset1(beta), vload_n(c, cnt), r);
            if (bias) r = vadd(r, vload_n(bias, cnt));
        }
        vstore_n(c, r, cnt);
    }
}

/* C tile (m <= MR, n <= NR) (+)= alpha * pa (kc, MR)^T @ pb (kc, NR). first: the first
 * K block, which applies beta and the bias; later blocks add to C. */
static void micro_kernel(int64_t kc, const float *restrict pa, const float *restrict pb, float *C,
                         int64_t ldc, int m, int n, float alpha, float beta, const float *bias,
                         int first) {
    vf c0[MR], c1[MR];
    /* C is touched only after the loop: start fetching its rows now */
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
        if (i < m) {
            __builtin_prefetch(C + i * ldc, 1, 3);
            __builtin_prefetch(C + i * ldc + NR - 1, 1, 3);
        }
        c0[i] = c1[i] = vzero();
    }
    for (int64_t k = 0; k < kc; k++) {
        vf b0 = vload(pb), b1 = vload(pb + VW);
#pragma GCC unroll 16
        for (int i = 0; i < MR; i++) {
            vf a = vset1(pa[i]);
            c0[i] = vfmadd(a, b0, c0[i]);
            c1[i] = vfmadd(a, b1, c1[i]);
        }
        pa += MR;
        pb += NR;
    }
    vf va = vset1(alpha);
    if (m == MR && n == NR) {
#pragma GCC unroll 16
        for (int i = 0; i < MR; i++) {
            store_tile_vec(C + i * ldc, c0[i], VW, va, beta, bias, first);
            store_tile_vec(C + i * ldc + VW, c1[i], VW, va, beta, bias ? bias + VW : NULL, first);
        }
    } else {
        int n0 = n < VW ? n : VW, n1 = n - n0;
#pragma GCC unroll 16
        for (int i = 0; i < MR; i++) {
            if (i >= m) break;
            store_tile_vec(C + i * ldc, c0[i], n0, va, beta, bias, first);
            if (n1 > 0) store_tile_vec(C + i * ldc + VW, c1[i], n1, va, beta, bias ? bias + VW : NULL, first);
        }
    }
}

/* Rounds of the blocked GEMM: B is packed for NCr columns and all of K, A for MOr rows
 * and all of K, then every task (MC rows x NSUB columns) runs the whole K loop. So a
 * round has two barriers (after packing, after computing) whatever K is: when a thread
 * is descheduled (a loaded machine, more threads than cores) the others wait at few
 * places, and the dynamically handed-out tasks route work around the slow one. */
typedef struct {
    int64_t ncr, mor; /* columns and rows per round (multiples of NSUB / MC, or all) */
} blocking;

#define PACK_B_BYTES (4 << 20) /* packed B per round: shared by all threads, in L3 */
#define PACK_A_BYTES (2 << 20) /* packed A per round */

/* n split into rounds of at most cap (a multiple of unit), all of about equal size */
static int64_t even_rounds(int64_t n, int64_t cap, int64_t unit) {
    int64_t rounds = (n + cap - 1) / cap;
    return round_up((n + rounds - 1) / rounds, unit);
}

static blocking choose_blocking(const slm_gemm_args *g, int nt) {
    int64_t kb = g->K * (int64_t)sizeof(float);
    blocking b;
    int64_t cap = PACK_A_BYTES / kb / MC * MC;
    b.mor = g->M <= cap ? round_up(g->M, MR) : even_rounds(g->M, cap < MC ? MC : cap, MC);
    /* enough column blocks for about 4 tasks per thread */
    int64_t n_mb = (min64(b.mor, g->M) + MC - 1) / MC;
    int64_t want = NSUB * ((4 * (int64_t)nt + n_mb - 1) / n_mb);
    cap = PACK_B_BYTES / kb / NSUB * NSUB;
    if (cap < want) cap = want;
    b.ncr = g->N <= cap ? round_up(g->N, NR) : even_rounds(g->N, cap, NSUB);
    return b;
}

static size_t blocked_scratch(const slm_gemm_args *g, int nt) {
    blocking b = choose_blocking(g, nt);
    return slm_arena_need((size_t)(g->K * b.ncr) * sizeof(float)) +
           slm_arena_need((size_t)(g->K * b.mor) * sizeof(float));
}

static slm_status gemm_blocked(const slm_gemm_args *g, int nt, void *scratch) {
    const int64_t M = g->M, N = g->N, K = g->K;
    const blocking bl = choose_blocking(g, nt);
    /* packed B: per K block (offset pc*ncp), NR-column panels of kc rows; A likewise */
    float *pb = (float *)scratch;
    float *pa = (float *)((char *)scratch + slm_arena_need((size_t)(K * bl.ncr) * sizeof(float)));
    const int64_t npc = (K + KC - 1) / KC;
    /* Round order: the operand packed in the outer loop is packed once; the other is
     * packed again for every outer round. Repack the smaller total: rows outer costs
     * (row rounds - 1) * N * K, columns outer (column rounds - 1) * M * K. */
    const int64_t n_ic = (M + bl.mor - 1) / bl.mor, n_jc = (N + bl.ncr - 1) / bl.ncr;
    const int rows_outer = (double)(n_ic - 1) * (double)N <= (double)(n_jc - 1) * (double)M;
    const int64_t n_outer = rows_outer ? n_ic : n_jc, n_inner = rows_outer ? n_jc : n_ic;
    int stop = 0;
#pragma omp parallel num_threads(nt) if (nt > 1)
    for (int64_t r = 0; r < n_outer * n_inner; r++) {
        const int64_t ri = r % n_inner, ro = r / n_inner;
        const int64_t ic = (rows_outer ? ro : ri) * bl.mor, jc = (rows_outer ? ri : ro) * bl.ncr;
        const int64_t nc = min64(bl.ncr, N - jc), nb_panels = (nc + NR - 1) / NR, ncp = nb_panels * NR;
        {
            const int64_t mo = min64(bl.mor, M - ic), na_panels = (mo + MR - 1) / MR, mop = na_panels * MR;
            /* one loop packs what this round needs anew: the inner operand always, the
             * outer one on the first inner round */
            const int pack_b_now = rows_outer || ri == 0, pack_a_now = !rows_outer || ri == 0;
            const int64_t nbj = pack_b_now ? nb_panels * npc : 0, naj = pack_a_now ? na_panels * npc : 0;
#pragma omp for schedule(dynamic, 4)
            for (int64_t t = 0; t < nbj + naj; t++) {
                if (t < nbj) {
                    int64_t p = t % nb_panels, pc = (t / nb_panels) * KC, kc = min64(KC, K - pc);
                    pack_b(pb + pc * ncp + p * NR * kc, &g->B, jc + p * NR, min64(NR, nc - p * NR), pc, kc);
                } else {
                    int64_t u = t - nbj, q = u % na_panels, pc = (u / na_panels) * KC, kc = min64(KC, K - pc);
                    pack_a(pa + pc * mop + q * MR * kc, g, ic + q * MR, min64(MR, mo - q * MR), pc, kc);
                }
            }
            /* tasks: MC rows x nsub columns, nsub narrowed (to a multiple of NR) until
             * there are about 4 tasks per thread, so that few rows still balance */
            const int64_t n_mb = (mo + MC - 1) / MC, want_nb = (4 * (int64_t)nt + n_mb - 1) / n_mb;
            int64_t nsub = round_up((nc + want_nb - 1) / want_nb, NR);
            nsub = nsub > NSUB ? NSUB : nsub;
            const int64_t n_nb = (nc + nsub - 1) / nsub;
#pragma omp for schedule(dynamic, 1)
            for (int64_t t = 0; t < n_mb * n_nb; t++) {
                if (__atomic_load_n(&stop, __ATOMIC_RELAXED)) continue;
                if (slm_interrupted()) {
                    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
                    continue;
                }
                int64_t i_lo = (t / n_nb) * MC, i_hi = min64(mo, i_lo + MC);
                int64_t j_lo = (t % n_nb) * nsub, j_hi = min64(nc, j_lo + nsub);
                for (int64_t pc = 0; pc < K; pc += KC) {
                    const int64_t kc = min64(KC, K - pc);
                    const float *pak = pa + pc * mop, *pbk = pb + pc * ncp;
                    for (int64_t j = j_lo; j < j_hi; j += NR) {
                        const float *bp = pbk + (j / NR) * NR * kc;
                        const float *bias = g->bias ? g->bias + jc + j : NULL;
                        for (int64_t i = i_lo; i < i_hi; i += MR)
                            micro_kernel(kc, pak + (i / MR) * MR * kc, bp, g->C + (ic + i) * g->ldc + jc + j,
                                         g->ldc, (int)min64(MR, mo - i), (int)min64(NR, nc - j), g->alpha,
                                         g->beta, bias, pc == 0);
                    }
                }
            }
        }
    }
    return stop ? SLM_INTERRUPTED_ERROR("sgemm") : SLM_OK;
}

/* ======================================================================================
 * GEMV: Y (mx, nw) = alpha * X (mx, K) @ W^T + beta * Y + bias, X packed (ldx = K),
 * W either "dot" (row n of W holds K contiguous values) or "axpy" (row k of W holds the
 * nw values of column k contiguously). Y[m][n] lives at Y + m*rs + n*cs.
 * ====================================================================================== */
typedef struct {
    const float *X; /* (mx, K) contiguous */
    int64_t mx, nw, K;
    const float *wf;    /* W as float32, or */
    const uint16_t *wh; /* W as bf16 */
    int64_t ldw;
    int dot;      /* 1: W row n = K values; 0: W row k = nw values */
    float *Y;
    int64_t rs, cs;
    float alpha, beta;
    const float *bias; /* (nw) or NULL */
} gemv_args;

SLM_INLINE vf wload(const gemv_args *a, int bf, int64_t off) {
    return bf ? vload_bf16(a->wh + off) : vload(a->wf + off);
}
SLM_INLINE vf wload_n(const gemv_args *a, int bf, int64_t off, int n) {
    return bf ? vload_bf16_n(a->wh + off, n) : vload_n(a->wf + off, n);
}

SLM_INLINE void gemv_store(const gemv_args *a, int64_t m, int64_t n, float acc) {
    float *y = a->Y + m * a->rs + n * a->cs;
    float r = a->alpha * acc;
    if (a->beta != 0.0f) r += a->beta * *y;
    if (a->bias) r += a->bias[n];
    *y = r;
}

/* The dot layout (W row n = K contiguous values) is read one of two ways, measured on
 * Zen 3 with W streamed from DRAM:
 * - short rows (under ROWS_SIDE_BY_SIDE_BYTES): one row at a time, start to end, so the
 *   GEMV is one sequential stream through W (its rows are usually contiguous) that the
 *   hardware prefetcher follows, helped by a software prefetch a little ahead (which
 *   runs on into the next row). Reading several short rows side by side lost 10-30%:
 *   each row's stream ends before the prefetcher has ramped up.
 * - long rows: R neighbouring rows side by side (dot_block), several streams in the same
 *   DRAM pages, which beat a single stream by 20-50%.
 * bf16 W: one vector load brings 2*VW weights as VW 32-bit lanes, each holding an even
 * (low half) and an odd (high half) element; the shift and the mask turn them into two
 * float vectors without any unpacking. X rows are stored to match (see split_x): per
 * chunk of 2*VW values the VW even ones, then the VW odd ones; the tail (K % (2*VW))
 * stays in order and takes the plain bf16 loads. */
#define ROWS_SIDE_BY_SIDE_BYTES 4096
#define SEQ_PF_F32 512   /* bytes ahead, tuned on Zen 3 */
#define SEQ_PF_BF16 1024

/* outputs (m0..m0+MB, n) for one row n of W, unrolled by U over k; even and odd bf16
 * products go to separate accumulators (no chain of two FMAs per step) */
SLM_INLINE void dot_row(const gemv_args *a, int bf, int64_t m0, int MB, int64_t n, int U) {
    const int64_t K = a->K;
    const float *X = a->X + m0 * K;
    const float *wf = bf ? NULL : a->wf + n * a->ldw;
    const uint16_t *wh = bf ? a->wh + n * a->ldw : NULL;
    vf acc[GEMV_MB][4], acc2[GEMV_MB][4];
#pragma GCC unroll 4
    for (int m = 0; m < MB; m++)
#pragma GCC unroll 4
        for (int u = 0; u < U; u++) acc[m][u] = acc2[m][u] = vzero();
    int64_t k = 0;
    if (bf) {
        const vf hi = vcast_f(vi_set1(-65536)); /* 0xffff0000 */
        for (; k + U * 2 * VW <= K; k += U * 2 * VW) {
#pragma GCC unroll 4
            for (int u = 0; u < U; u++) {
                int64_t ku = k + u * 2 * VW;
                __builtin_prefetch((const char *)(wh + ku) + SEQ_PF_BF16, 0, 0);
                vf raw = vload((const float *)(wh + ku));
                vf we = vcast_f(vi_sll(vcast_i(raw), 16)), wo = vand(raw, hi);
#pragma GCC unroll 4
                for (int m = 0; m < MB; m++) {
                    acc[m][u] = vfmadd(vload(X + m * K + ku), we, acc[m][u]);
                    acc2[m][u] = vfmadd(vload(X + m * K + ku + VW), wo, acc2[m][u]);
                }
            }
        }
        for (; k + 2 * VW <= K; k += 2 * VW) {
            vf raw = vload((const float *)(wh + k));
            vf we = vcast_f(vi_sll(vcast_i(raw), 16)), wo = vand(raw, hi);
#pragma GCC unroll 4
            for (int m = 0; m < MB; m++) {
                acc[m][0] = vfmadd(vload(X + m * K + k), we, acc[m][0]);
                acc2[m][0] = vfmadd(vload(X + m * K + k + VW), wo, acc2[m][0]);
            }
        }
    } else {
        for (; k + U * VW <= K; k += U * VW) {
#pragma GCC unroll 4
            for (int u = 0; u < U; u++) {
                __builtin_prefetch((const char *)(wf + k + u * VW) + SEQ_PF_F32, 0, 0);
                vf w = vload(wf + k + u * VW);
#pragma GCC unroll 4
                for (int m = 0; m < MB; m++) acc[m][u] = vfmadd(vload(X + m * K + k + u * VW), w, acc[m][u]);
            }
        }
    }
    for (; k + VW <= K; k += VW) {
        vf w = bf ? vload_bf16(wh + k) : vload(wf + k);
#pragma GCC unroll 4
        for (int m = 0; m < MB; m++) acc[m][0] = vfmadd(vload(X + m * K + k), w, acc[m][0]);
    }
    if (k < K) {
        int t = (int)(K - k);
        vf w = bf ? vload_bf16_n(wh + k, t) : vload_n(wf + k, t);
#pragma GCC unroll 4
        for (int m = 0; m < MB; m++) acc[m][0] = vfmadd(vload_n(X + m * K + k, t), w, acc[m][0]);
    }
#pragma GCC unroll 4
    for (int m = 0; m < MB; m++) {
        vf s = bf ? vadd(acc[m][0], acc2[m][0]) : acc[m][0];
#pragma GCC unroll 4
        for (int u = 1; u < U; u++) s = vadd(s, bf ? vadd(acc[m][u], acc2[m][u]) : acc[m][u]);
        gemv_store(a, m0 + m, n, vreduce_add(s));
    }
}

/* X row (K) in the order the bf16 loops of dot_row and dot_block read it */
static void split_x(float *restrict dst, const float *restrict src, int64_t K) {
    int64_t k = 0;
    for (; k + 2 * VW <= K; k += 2 * VW)
        for (int i = 0; i < VW; i++) {
            dst[k + i] = src[k + 2 * i];
            dst[k + VW + i] = src[k + 2 * i + 1];
        }
    for (; k < K; k++) dst[k] = src[k];
}

/* Prefetch for dot_block: W row n, PREFETCH_BYTES ahead of k, continuing into the
 * row this stream reads next (n + R) near the row's end. x86 prefetches never fault, so
 * running past the last row is harmless. */
#define PREFETCH_BYTES 1024
SLM_INLINE void prefetch_w(const gemv_args *a, int bf, int64_t n, int R, int64_t k) {
    int64_t off = k + (bf ? PREFETCH_BYTES / 2 : PREFETCH_BYTES / 4);
    if (off >= a->K) {
        off -= a->K;
        n += R;
    }
    if (bf)
        __builtin_prefetch(a->wh + n * a->ldw + off, 0, 0);
    else
        __builtin_prefetch(a->wf + n * a->ldw + off, 0, 0);
}

/* outputs (m0..m0+MB, n0..n0+R): R rows of W side by side (long rows) */
SLM_INLINE void dot_block(const gemv_args *a, int bf, int64_t m0, int MB, int64_t n0, int R) {
    const int64_t K = a->K;
    const float *X = a->X + m0 * K;
    vf acc[GEMV_MB][4];
#pragma GCC unroll 4
    for (int m = 0; m < MB; m++)
#pragma GCC unroll 4
        for (int q = 0; q < R; q++) acc[m][q] = vzero();
    int64_t k = 0;
    if (bf) {
        const vf hi = vcast_f(vi_set1(-65536)); /* 0xffff0000 */
        for (; k + 2 * VW <= K; k += 2 * VW) {
#pragma GCC unroll 4
            for (int q = 0; q < R; q++) {
                prefetch_w(a, 1, n0 + q, R, k);
                vf raw = vload((const float *)(a->wh + (n0 + q) * a->ldw + k));
                vf we = vcast_f(vi_sll(vcast_i(raw), 16)), wo = vand(raw, hi);
#pragma GCC unroll 4
                for (int m = 0; m < MB; m++) {
                    acc[m][q] = vfmadd(vload(X + m * K + k), we, acc[m][q]);
                    acc[m][q] = vfmadd(vload(X + m * K + k + VW), wo, acc[m][q]);
                }
            }
        }
    }
    for (; k + VW <= K; k += VW) {
        vf w[4];
#pragma GCC unroll 4
        for (int q = 0; q < R; q++) {
            prefetch_w(a, bf, n0 + q, R, k);
            w[q] = wload(a, bf, (n0 + q) * a->ldw + k);
        }
#pragma GCC unroll 4
        for (int m = 0; m < MB; m++) {
            vf x = vload(X + m * K + k);
#pragma GCC unroll 4
            for (int q = 0; q < R; q++) acc[m][q] = vfmadd(x, w[q], acc[m][q]);
        }
    }
    if (k < K) {
        int t = (int)(K - k);
        vf w[4];
#pragma GCC unroll 4
        for (int q = 0; q < R; q++) w[q] = wload_n(a, bf, (n0 + q) * a->ldw + k, t);
#pragma GCC unroll 4
        for (int m = 0; m < MB; m++) {
            vf x = vload_n(X + m * K + k, t);
#pragma GCC unroll 4
            for (int q = 0; q < R; q++) acc[m][q] = vfmadd(x, w[q], acc[m][q]);
        }
    }
#pragma GCC unroll 4
    for (int m = 0; m < MB; m++)
#pragma GCC unroll 4
        for (int q = 0; q < R; q++) gemv_store(a, m0 + m, n0 + q, vreduce_add(acc[m][q]));
}

/* rows [n_lo, n_hi) of W against X rows [m0, m0+MB). Short rows: one at a time,
 * unrolled to 4-8 accumulators; long rows: 4 (MB <= 2) or 2 side by side. */
SLM_INLINE void dot_rows(const gemv_args *a, int bf, int64_t m0, int MB, int64_t n_lo, int64_t n_hi) {
    int64_t n = n_lo;
    if (a->K * (bf ? 2 : 4) < ROWS_SIDE_BY_SIDE_BYTES) {
        const int U = MB == 1 ? 4 : MB == 2 ? (bf ? 2 : 4) : bf ? 1 : 2;
        for (; n < n_hi; n++) dot_row(a, bf, m0, MB, n, U);
        return;
    }
    if (MB <= 2) {
        for (; n + 4 <= n_hi; n += 4) dot_block(a, bf, m0, MB, n, 4);
    } else {
        for (; n + 2 <= n_hi; n += 2) dot_block(a, bf, m0, MB, n, 2);
    }
    for (; n < n_hi; n++) dot_block(a, bf, m0, MB, n, 1);
}

static void gemv_dot_range(const gemv_args *a, int64_t n_lo, int64_t n_hi) {
    /* keep a strip of W small enough for L2 while every X row passes over it */
    int64_t esz = a->wh ? 2 : 4;
    int64_t strip = a->mx > GEMV_MB ? (128 * 1024) / (a->K * esz) : n_hi - n_lo;
    if (strip < 4) strip = 4;
    for (int64_t s = n_lo; s < n_hi; s += strip) {
        int64_t e = min64(n_hi, s + strip);
        for (int64_t m0 = 0; m0 < a->mx; m0 += GEMV_MB) {
            int mb = (int)min64(GEMV_MB, a->mx - m0);
            /* constant MB and bf at each call so that the blocks are specialised */
            if (a->wh) {
                switch (mb) {
                case 1: dot_rows(a, 1, m0, 1, s, e); break;
                case 2: dot_rows(a, 1, m0, 2, s, e); break;
                case 3: dot_rows(a, 1, m0, 3, s, e); break;
                default: dot_rows(a, 1, m0, 4, s, e); break;
                }
            } else {
                switch (mb) {
                case 1: dot_rows(a, 0, m0, 1, s, e); break;
                case 2: dot_rows(a, 0, m0, 2, s, e); break;
                case 3: dot_rows(a, 0, m0, 3, s, e); break;
                default: dot_rows(a, 0, m0, 4, s, e); break;
                }
            }
        }
    }
}

/* axpy layout: columns [j, j + cnt) (cnt <= NV*VW) for X rows [m0, m0+MB) */
SLM_INLINE void axpy_block(const gemv_args *a, int bf, int64_t m0, int MB, int64_t j, int NV, int cnt) {
    const int64_t K = a->K;
    const float *X = a->X + m0 * K;
    vf acc[GEMV_MB][4];
#pragma GCC unroll 4
    for (int m = 0; m < MB; m++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) acc[m][v] = vzero();
    if (cnt == NV * VW) {
        for (int64_t k = 0; k < K; k++) {
            vf w[4];
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++) w[v] = wload(a, bf, k * a->ldw + j + v * VW);
#pragma GCC unroll 4
            for (int m = 0; m < MB; m++) {
                vf x = vset1(X[m * K + k]);
#pragma GCC unroll 4
                for (int v = 0; v < NV; v++) acc[m][v] = vfmadd(x, w[v], acc[m][v]);
            }
        }
    } else {
        int c[4];
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) {
            int r = cnt - v * VW;
            c[v] = r < 0 ? 0 : r > VW ? VW : r;
        }
        for (int64_t k = 0; k < K; k++) {
            vf w[4];
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++)
                w[v] = c[v] == VW ? wload(a, bf, k * a->ldw + j + v * VW)
                       : c[v] > 0 ? wload_n(a, bf, k * a->ldw + j + v * VW, c[v])
                                  : vzero();
#pragma GCC unroll 4
            for (int m = 0; m < MB; m++) {
                vf x = vset1(X[m * K + k]);
#pragma GCC unroll 4
                for (int v = 0; v < NV; v++) acc[m][v] = vfmadd(x, w[v], acc[m][v]);
            }
        }
    }
    vf va = vset1(a->alpha);
#pragma GCC unroll 4
    for (int m = 0; m < MB; m++) {
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) {
            int r = cnt - v * VW;
            if (r <= 0) break;
            if (r > VW) r = VW;
            int64_t jj = j + v * VW;
            if (a->cs == 1) {
                store_tile_vec(a->Y + (m0 + m) * a->rs + jj, acc[m][v], r, va, a->beta,
                               a->bias ? a->bias + jj : NULL, 1);
            } else {
                float tmp[VW];
                vstore(tmp, acc[m][v]);
                for (int e = 0; e < r; e++) gemv_store(a, m0 + m, jj + e, tmp[e]);
            }
        }
    }
}

SLM_INLINE void axpy_cols(const gemv_args *a, int bf, int64_t m0, int MB, int64_t j_lo, int64_t j_hi) {
    /* 4 vectors of columns per X row for MB <= 2, 2 for more rows: 8 accumulators */
    const int NV = MB <= 2 ? 4 : 2;
    for (int64_t j = j_lo; j < j_hi; j += NV * VW) {
        int cnt = (int)min64(NV * VW, j_hi - j);
        axpy_block(a, bf, m0, MB, j, NV, cnt);
    }
}

static void gemv_axpy_range(const gemv_args *a, int64_t j_lo, int64_t j_hi) {
    int64_t esz = a->wh ? 2 : 4;
    int64_t strip = a->mx > GEMV_MB ? round_up((128 * 1024) / (a->K * esz), 4 * VW) : j_hi - j_lo;
    if (strip < 4 * VW) strip = 4 * VW;
    for (int64_t s = j_lo; s < j_hi; s += strip) {
        int64_t e = min64(j_hi, s + strip);
        for (int64_t m0 = 0; m0 < a->mx; m0 += GEMV_MB) {
            int mb = (int)min64(GEMV_MB, a->mx - m0);
            if (a->wh) {
                switch (mb) {
                case 1: axpy_cols(a, 1, m0, 1, s, e); break;
                case 2: axpy_cols(a, 1, m0, 2, s, e); break;
                case 3: axpy_cols(a, 1, m0, 3, s, e); break;
                default: axpy_cols(a, 1, m0, 4, s, e); break;
                }
            } else {
                switch (mb) {
                case 1: axpy_cols(a, 0, m0, 1, s, e); break;
                case 2: axpy_cols(a, 0, m0, 2, s, e); break;
                case 3: axpy_cols(a, 0, m0, 3, s, e); break;
                default: axpy_cols(a, 0, m0, 4, s, e); break;
                }
            }
        }
    }
}

static slm_status gemv_run(const gemv_args *a, int nt) {
    /* split W's n (dot) or columns (axpy) into chunks, several per thread, handed out
     * dynamically: a thread that starts late (woken late on a busy machine) finds the
     * others have taken its share; chunk edges on vector multiples so that only the
     * last chunk has a tail */
    int64_t unit = a->dot ? 4 : 4 * VW;
    int64_t nunits = (a->nw + unit - 1) / unit;
    int64_t nchunks = nt > 1 ? min64(nunits, (int64_t)nt * 8) : 1;
    int stop = 0;
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1) if (nt > 1 && nchunks > 1)
    for (int64_t c = 0; c < nchunks; c++) {
        if (__atomic_load_n(&stop, __ATOMIC_RELAXED)) continue;
        if (slm_interrupted()) {
            __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
            continue;
        }
        int64_t lo = min64(a->nw, nunits * c / nchunks * unit), hi = min64(a->nw, nunits * (c + 1) / nchunks * unit);
        if (lo >= hi) continue;
        if (a->dot)
            gemv_dot_range(a, lo, hi);
        else
            gemv_axpy_range(a, lo, hi);
    }
    return stop ? SLM_INTERRUPTED_ERROR("sgemm") : SLM_OK;
}

/* 1: GEMV with X = op(A); 2: GEMV on the transposed problem (X = op(B)^T); 0: blocked */
static int gemv_mode(const slm_gemm_args *g) {
    if (g->M <= GEMV_MAX_M) return 1;
    if (g->N <= GEMV_MAX_M && g->B.f32 && !g->bias) return 2;
    return 0;
}

static slm_status gemm_gemv(const slm_gemm_args *g, int mode, int nt, float *X) {
    const int64_t K = g->K;
    gemv_args a = {.X = X, .K = K, .alpha = g->alpha, .beta = g->beta, .Y = g->C};
    if (mode == 1) {
        int split = g->B.bf16 && g->B.trans;
        float *row = split ? X + g->M * K : NULL; /* one row of scratch to reorder from */
        for (int64_t m = 0; m < g->M; m++) {
            float *dst = split ? row : X + m * K;
            for (int64_t k = 0; k < K; k++) dst[k] = g->trans_a ? g->A[k * g->lda + m] : g->A[m * g->lda + k];
            if (split) split_x(X + m * K, row, K);
        }
        a.mx = g->M;
        a.nw = g->N;
        a.wf = g->B.f32;
        a.wh = g->B.bf16;
        a.ldw = g->B.ld;
        a.dot = g->B.trans;
        a.rs = g->ldc;
        a.cs = 1;
        a.bias = g->bias;
    } else {
        /* C^T (N, M) = op(B)^T (N, K) @ op(A)^T (K, M) */
        const float *B = g->B.f32;
        for (int64_t j = 0; j < g->N; j++)
            for (int64_t k = 0; k < K; k++)
                X[j * K + k] = g->B.trans ? B[j * g->B.ld + k] : B[k * g->B.ld + j];
        a.mx = g->N;
        a.nw = g->M;
        a.wf = g->A;
        a.ldw = g->lda;
        a.dot = !g->trans_a;
        a.rs = 1;
        a.cs = g->ldc;
    }
    return gemv_run(&a, nt);
}

/* ======================================================================================
 * entry points
 * ====================================================================================== */
/* below these sizes a team of threads costs more than it saves (and on a busy machine
 * waiting for a descheduled thread costs milliseconds): run on the calling thread */
#define PAR_MIN_MNK (64 * 64 * 64)
#define PAR_MIN_GEMV_BYTES (64 << 10)

static int threads_for(const slm_gemm_args *g, int mode, int nt) {
    if (nt <= 1) return 1;
    if (mode) {
        double wbytes = (double)g->K * (double)(mode == 1 ? g->N : g->M) * (g->B.bf16 ? 2 : 4);
        return wbytes < PAR_MIN_GEMV_BYTES ? 1 : nt;
    }
    return (double)g->M * (double)g->N * (double)g->K < PAR_MIN_MNK ? 1 : nt;
}

size_t SLM_SIMD_FN(slm_gemm_scratch)(const slm_gemm_args *g, int nthreads) {
    int mode = gemv_mode(g);
    nthreads = threads_for(g, mode, nthreads);
    if (mode == 1) return slm_arena_need((size_t)((g->M + 1) * g->K) * sizeof(float));
    if (mode == 2) return slm_arena_need((size_t)(g->N * g->K) * sizeof(float));
    return blocked_scratch(g, nthreads);
}

slm_status SLM_SIMD_FN(slm_gemm)(const slm_gemm_args *g, int nthreads, void *scratch) {
    int mode = gemv_mode(g);
    nthreads = threads_for(g, mode, nthreads);
    if (mode) return gemm_gemv(g, mode, nthreads, (float *)scratch);
    return gemm_blocked(g, nthreads, scratch);
}
