/* vq.c (simd): nearest-codeword search for AVX2 / AVX-512.
 *
 * The search of each residual-VQ stage of a codec tokenizer (EnCodec, SoundStream,
 * DAC). Rows of x are taken in blocks of NB and the codebook in blocks of KB; the dot
 * products of a block pair come from slm_sgemm (so the GEMM family's fast path does the
 * heavy part, on the calling thread inside our parallel loop) into an NB x KB scratch,
 * and a SIMD pass turns them into distances and keeps a running argmin per row. Scratch
 * is bounded: K floats of codeword norms plus NB*KB floats per thread.
 *
 * Distances use EnCodec's formula in float in its order, (|x|^2 - 2 x.c) + |c|^2, so
 * that the choice matches the reference except at ties; cosine is the dot product
 * times 1/max(|c|, 1e-12) (the positive factor 1/|x| does not change the argmax).
 * Ties keep the lowest index: strict comparisons per lane, then the lowest index among
 * equal lanes. Indices ride in float lanes, exact below 2^24 codewords (K above that
 * takes the scalar loop).
 */
#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "simd.h"
#include "../gemm.h"
#include "../rnn_vq.h"

#define NB 256  /* rows of x per block */
#define KB 512 /* codewords per block (a multiple of 16) */

static const float lane_idx_[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

/* sum of squares of a (D) */
static float sumsq(const float *a, int64_t D) {
    vf acc0 = vzero(), acc1 = vzero();
    int64_t d = 0;
    for (; d + 2 * VW <= D; d += 2 * VW) {
        vf u = vload(a + d), w = vload(a + d + VW);
        acc0 = vfmadd(u, u, acc0);
        acc1 = vfmadd(w, w, acc1);
    }
    for (; d + VW <= D; d += VW) {
        vf u = vload(a + d);
        acc0 = vfmadd(u, u, acc0);
    }
    if (d < D) {
        vf u = vload_n(a + d, (int)(D - d));
        acc1 = vfmadd(u, u, acc1);
    }
    return vreduce_add(vadd(acc0, acc1));
}

/* the per-codeword term: |c|^2 (L2) or 1/max(|c|, eps) (cosine) */
static float row_term(const float *a, int64_t D, slm_vq_metric metric) {
    const float ss = sumsq(a, D);
    if (metric == SLM_VQ_L2) return ss;
    const float n = sqrtf(ss);
    return 1.0f / (n > SLM_VQ_NORM_EPS ? n : SLM_VQ_NORM_EPS);
}

/* Best of one row's kb candidates: the value minimised is v_k = (xn - 2 d_k) + cn_k
 * (L2) or -(d_k * cn_k) (cosine); returns the first k with the smallest v_k. */
static int64_t block_best(const float *dots, const float *cn, int64_t kb, float xn, int64_t k0,
                          slm_vq_metric metric, float *bestv) {
    int64_t j = 0, bi = -1;
    float bv = INFINITY;
    if (k0 + kb <= (1 << 24) && kb >= VW) {
        const vf vxn = vset1(xn), step = vset1((float)VW);
        vf vbest = vset1(INFINITY), vbi = vzero(), vk = vadd(vload(lane_idx_), vset1((float)k0));
        for (; j + VW <= kb; j += VW) {
            const vf d = vload(dots + j), c = vload(cn + j);
            const vf v = metric == SLM_VQ_L2 ? vadd(vsub(vxn, vadd(d, d)), c) : vsub(vzero(), vmul(d, c));
            const vmask lt = vcmp_lt(v, vbest);
            vbest = vblend(lt, vbest, v);
            vbi = vblend(lt, vbi, vk);
            vk = vadd(vk, step);
        }
        float lv[VW], li[VW];
        vstore(lv, vbest);
        vstore(li, vbi);
        for (int l = 0; l < VW; l++) {
            const int64_t ki = (int64_t)li[l];
            if (lv[l] < bv || (lv[l] == bv && ki < bi)) bv = lv[l], bi = ki;
        }
    }
    for (; j < kb; j++) {
        const float d = dots[j];
        const float v = metric == SLM_VQ_L2 ? (xn - (d + d)) + cn[j] : -(d * cn[j]);
        if (bi < 0 || v < bv) bv = v, bi = k0 + j;
    }
    *bestv = bv;
    return bi;
}

slm_status SLM_SIMD_FN(slm_nearest_codeword_f32)(SLM_VQ_ARGS) {
    static const char fn[] = "nearest_codeword";
    int nt = slm_threads();
    /* blocks of rows: NB, or fewer so that every thread gets one */
    int64_t nb = NB;
    if (N < NB * (int64_t)nt) nb = (N + nt - 1) / nt;
    if (nb < 1) nb = 1;
    const int64_t nblocks = (N + nb - 1) / nb;
    if (nt > nblocks) nt = (int)nblocks;
    slm_arena ar;
    const size_t per_thread = slm_arena_need((size_t)(nb * KB) * sizeof(float)) +
                              slm_arena_need((size_t)nb * sizeof(float) * 2) +
                              slm_arena_need((size_t)nb * sizeof(int64_t));
    SLM_TRY(slm_arena_init(&ar, slm_arena_need((size_t)K * sizeof(float)) + (size_t)nt * per_thread, fn));
    float *cn = slm_arena_take(&ar, (size_t)K * sizeof(float));
    float *dots[nt], *xns[nt], *bests[nt];
    int64_t *bis[nt];
    for (int t = 0; t < nt; t++) {
        dots[t] = slm_arena_take(&ar, (size_t)(nb * KB) * sizeof(float));
        xns[t] = slm_arena_take(&ar, (size_t)nb * sizeof(float) * 2);
        bests[t] = xns[t] + nb;
        bis[t] = slm_arena_take(&ar, (size_t)nb * sizeof(int64_t));
    }
#pragma omp parallel for num_threads(slm_threads()) schedule(static) if (K * D > 65536)
    for (int64_t k = 0; k < K; k++) cn[k] = row_term(codebook + k * D, D, metric);
    int err = SLM_OK;
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
    for (int64_t blk = 0; blk < nblocks; blk++) {
        if (__atomic_load_n(&err, __ATOMIC_RELAXED) != SLM_OK) continue;
        if (slm_interrupted()) {
            __atomic_store_n(&err, SLM_ERR_INTERRUPTED, __ATOMIC_RELAXED);
            continue;
        }
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        const int64_t i0 = blk * nb, rows = N - i0 < nb ? N - i0 : nb;
        const float *xb = x + i0 * D;
        float *xn = xns[tid], *best = bests[tid], *dp = dots[tid];
        int64_t *bi = bis[tid];
        for (int64_t r = 0; r < rows; r++) {
            xn[r] = metric == SLM_VQ_L2 ? sumsq(xb + r * D, D) : 0.0f;
            best[r] = INFINITY;
            bi[r] = -1;
        }
        for (int64_t k0 = 0; k0 < K; k0 += KB) {
            const int64_t kb = K - k0 < KB ? K - k0 : KB;
            slm_status st = slm_sgemm(0, 1, rows, kb, D, 1.0f, xb, D, codebook + k0 * D, D, 0.0f, dp, KB);
            if (st != SLM_OK) {
                __atomic_store_n(&err, (int)st, __ATOMIC_RELAXED);
                break;
            }
            for (int64_t r = 0; r < rows; r++) {
                float v;
                const int64_t k = block_best(dp + r * KB, cn + k0, kb, xn[r], k0, metric, &v);
                if (bi[r] < 0 || v < best[r]) best[r] = v, bi[r] = k; /* strict: earlier blocks win ties */
            }
        }
        if (__atomic_load_n(&err, __ATOMIC_RELAXED) != SLM_OK) continue;
        for (int64_t r = 0; r < rows; r++) {
            idx[i0 + r] = bi[r];
            if (!dist) continue;
            if (metric == SLM_VQ_L2) {
                dist[i0 + r] = best[r];
            } else {
                const float n = sqrtf(sumsq(xb + r * D, D));
                dist[i0 + r] = 1.0f + best[r] / (n > SLM_VQ_NORM_EPS ? n : SLM_VQ_NORM_EPS);
            }
        }
    }
    slm_arena_release(&ar);
    /* a failure inside the parallel loop set its message on a worker thread: restate it */
    if (err == SLM_ERR_INTERRUPTED) return SLM_INTERRUPTED_ERROR(fn);
    if (err != SLM_OK)
        return slm_error((slm_status)err, fn, "the codebook product failed (%s)", slm_status_name((slm_status)err));
    return SLM_OK;
}

/* squared distance of a (D) to b (D), differences first: four accumulators, then the tail */
static float sqdiff(const float *a, const float *b, int64_t D) {
    vf acc0 = vzero(), acc1 = vzero(), acc2 = vzero(), acc3 = vzero();
    int64_t d = 0;
    for (; d + 4 * VW <= D; d += 4 * VW) {
        const vf e0 = vsub(vload(a + d), vload(b + d)), e1 = vsub(vload(a + d + VW), vload(b + d + VW));
        const vf e2 = vsub(vload(a + d + 2 * VW), vload(b + d + 2 * VW));
        const vf e3 = vsub(vload(a + d + 3 * VW), vload(b + d + 3 * VW));
        acc0 = vfmadd(e0, e0, acc0);
        acc1 = vfmadd(e1, e1, acc1);
        acc2 = vfmadd(e2, e2, acc2);
        acc3 = vfmadd(e3, e3, acc3);
    }
    for (; d + VW <= D; d += VW) {
        const vf e = vsub(vload(a + d), vload(b + d));
        acc0 = vfmadd(e, e, acc0);
    }
    if (d < D) {
        const int n = (int)(D - d);
        const vf e = vsub(vload_n(a + d, n), vload_n(b + d, n));
        acc1 = vfmadd(e, e, acc1);
    }
    return vreduce_add(vadd(vadd(acc0, acc1), vadd(acc2, acc3)));
}

/* out (N, L) <- x (N, D), c (L, D). The L candidate rows stay in cache while each row of x
 * is read once; one thread computes each row's L values. */
slm_status SLM_SIMD_FN(slm_vq_sqdist_f32)(float *out, const float *x, const float *c, int64_t N, int64_t L,
                                          int64_t D) {
    int stop = 0;
#pragma omp parallel for num_threads(slm_threads()) schedule(static) if (N * L * D > 65536)
    for (int64_t i = 0; i < N; i++) {
        if (stop || ((i & 1023) == 0 && slm_interrupted())) {
            stop = 1;
            continue;
        }
        for (int64_t j = 0; j < L; j++) out[i * L + j] = sqdiff(x + i * D, c + j * D, D);
    }
    if (stop) return SLM_INTERRUPTED_ERROR("kmeans_sqdist");
    return SLM_OK;
}

/* sums (K, D) += x rows by label, columns [d0, d1), in row order: the compiler widens the
 * column loop (float->double converts and adds of independent columns) */
void SLM_SIMD_FN(slm_vq_cluster_sums_cols)(double *sums, const float *x, const int64_t *labels, int64_t N, int64_t D, int64_t d0, int64_t d1) {
    for (int64_t i = 0; i < N; i++) {
        double *restrict s = sums + labels[i] * D;
        const float *restrict xi = x + i * D;
        if (i + 8 < N) /* a block of columns at a row stride: the hardware prefetchers lose it */
            for (int64_t d = d0; d < d1; d += 16) __builtin_prefetch(xi + 8 * D + d);
        for (int64_t d = d0; d < d1; d++) s[d] += (double)xi[d];
    }
}
