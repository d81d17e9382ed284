/* kmeans.c: k-means in C: nearest-centroid assignment (scikit-learn KMeans.predict
 * semantics), k-means++ seeding, Lloyd iterations and the mini-batch step.
 *
 * The assignment is the vq family's nearest-codeword kernel (||x||^2 - 2 x.c + ||c||^2
 * blocked over rows and codewords, SIMD on avx2/avx512, threads over rows), so predict,
 * fit and partial_fit share one code path. Seeding measures candidates with the vq
 * family's difference-form distance kernel. Everything that decides a result is
 * reproducible: the random numbers come from the caller (slm/tokenizers/_kmeans.py draws
 * them from a seeded numpy Generator), every float64 reduction runs in row order on one
 * thread or over a fixed split, so the thread count never changes a bit of the output.
 * (Different kernel paths may differ in last bits: the shipped default tokenizer is
 * trained on the ref path.) */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "slm/kmeans.h"

#include "slm/ops_rnn_vq.h"
#include "kernels/rnn_vq.h"
#include "runtime/runtime.h"

/* labels (N), dist (N) or NULL <- x (N, D), centroids (K, D) */
slm_status slm_kmeans_predict_f32(int64_t *labels, float *dist, const float *x, const float *centroids,
                                  int64_t N, int64_t K, int64_t D) {
    static const char fn[] = "kmeans_predict";
    SLM_CHECK(N >= 0, fn, "N must be >= 0, got %lld", (long long)N);
    SLM_CHECK(K >= 1, fn, "n_clusters (K) must be >= 1, got %lld", (long long)K);
    SLM_CHECK(D >= 1, fn, "n_features (D) must be >= 1, got %lld", (long long)D);
    return slm_nearest_codeword_f32(labels, dist, x, centroids, N, K, D, SLM_VQ_L2);
}

/* the column-block kernel of the vq family's path (all paths give the same bits) */
static void sums_cols(double *sums, const float *x, const int64_t *labels, int64_t N, int64_t D, int64_t d0,
                      int64_t d1) {
    switch (slm_family_path(SLM_FAMILY_VQ)) {
#ifdef SLM_BUILD_AVX512
    case SLM_PATH_AVX512: slm_vq_cluster_sums_cols_avx512(sums, x, labels, N, D, d0, d1); return;
#endif
#ifdef SLM_BUILD_AVX2
    case SLM_PATH_AVX2: slm_vq_cluster_sums_cols_avx2(sums, x, labels, N, D, d0, d1); return;
#endif
    default: slm_vq_cluster_sums_cols_ref(sums, x, labels, N, D, d0, d1);
    }
}

slm_status slm_kmeans_cluster_sums_f32(double *sums, int64_t *counts, const float *x, const int64_t *labels,
                                       int64_t N, int64_t K, int64_t D) {
    static const char fn[] = "kmeans_cluster_sums";
    SLM_CHECK(N >= 0 && K >= 1 && D >= 1, fn, "bad sizes N=%lld K=%lld D=%lld", (long long)N, (long long)K,
              (long long)D);
    int64_t nkd;
    SLM_TRY(slm_numel(fn, &nkd, 2, K, D));
    for (int64_t i = 0; i < N; i++)
        SLM_CHECK(labels[i] >= 0 && labels[i] < K, fn, "label %lld of row %lld is outside [0, %lld)",
                  (long long)labels[i], (long long)i, (long long)K);
    memset(sums, 0, (size_t)nkd * sizeof(double));
    memset(counts, 0, (size_t)K * sizeof(int64_t));
    for (int64_t i = 0; i < N; i++) counts[labels[i]]++;
    /* each thread owns a block of columns and walks every row in order: the additions into
     * one sum happen in row order, as a single-threaded pass would do them. One block per
     * thread (a multiple of 8 columns): each thread reads long contiguous pieces of every
     * row, which the prefetchers follow; narrow blocks at a row stride defeat them */
    int nt = slm_threads();
    int64_t bw = ((D + nt - 1) / nt + 7) / 8 * 8;
    const int64_t blocks = (D + bw - 1) / bw;
#pragma omp parallel for num_threads(nt) schedule(static) if (N * D > 65536 && blocks > 1)
    for (int64_t blk = 0; blk < blocks; blk++) {
        const int64_t d0 = blk * bw, d1 = d0 + bw < D ? d0 + bw : D;
        sums_cols(sums, x, labels, N, D, d0, d1);
    }
    return SLM_OK;
}

/* x (N, D) rows: SLM_ERR_VALUE naming the first NaN/Inf, or a row so large that squared
 * distances could overflow float32 (the distance kernels trust their input) */
static slm_status check_finite(const float *x, int64_t N, int64_t D, const char *fn) {
    for (int64_t i = 0; i < N; i++) {
        const float *r = x + i * D;
        double ss = 0.0;
        for (int64_t d = 0; d < D; d++) {
            if (!isfinite(r[d]))
                return slm_error(SLM_ERR_VALUE, fn, "x row %lld contains %s at column %lld", (long long)i,
                                 isnan(r[d]) ? "NaN" : "Inf", (long long)d);
            ss += (double)r[d] * (double)r[d];
        }
        if (ss > (double)FLT_MAX / 8)
            return slm_error(SLM_ERR_VALUE, fn, "x row %lld has squared norm %.3g: distances would overflow float32",
                             (long long)i, ss);
        if ((i & 4095) == 4095 && slm_interrupted()) return SLM_INTERRUPTED_ERROR(fn);
    }
    return SLM_OK;
}

/* centers (K, D), chosen (K) <- x (N, D), first, uniforms ((K - 1) * n_trials) */
slm_status slm_kmeans_plusplus_f32(float *centers, int64_t *chosen, const float *x, int64_t N, int64_t K,
                                   int64_t D, int64_t first, const double *uniforms, int64_t n_trials) {
    static const char fn[] = "kmeans_plusplus";
    SLM_CHECK(K >= 1 && D >= 1, fn, "bad sizes K=%lld D=%lld", (long long)K, (long long)D);
    SLM_CHECK(N >= K, fn, "n_samples=%lld should be >= n_clusters=%lld", (long long)N, (long long)K);
    SLM_CHECK(first >= 0 && first < N, fn, "first centre %lld is outside [0, %lld)", (long long)first,
              (long long)N);
    SLM_CHECK(n_trials >= 1 && n_trials <= 1024, fn, "n_trials must be in [1, 1024], got %lld",
              (long long)n_trials);
    int64_t nl, nd;
    SLM_TRY(slm_numel(fn, &nl, 3, N, n_trials, (int64_t)sizeof(float)));
    SLM_TRY(slm_numel(fn, &nd, 3, N, D, (int64_t)sizeof(float)));
    for (int64_t i = 0; i < (K - 1) * n_trials; i++)
        SLM_CHECK(uniforms[i] >= 0.0 && uniforms[i] < 1.0, fn, "uniform number %lld is %g, not in [0, 1)",
                  (long long)i, uniforms[i]);
    SLM_TRY(check_finite(x, N, D, fn));
    slm_arena ar;
    SLM_TRY(slm_arena_init(&ar,
                           slm_arena_need((size_t)N * sizeof(double)) + slm_arena_need((size_t)nl) +
                               slm_arena_need((size_t)(n_trials * D) * sizeof(float)) +
                               slm_arena_need((size_t)n_trials * (sizeof(double) + sizeof(int64_t))),
                           fn));
    double *d2 = slm_arena_take(&ar, (size_t)N * sizeof(double));
    float *dc = slm_arena_take(&ar, (size_t)nl);
    float *cand = slm_arena_take(&ar, (size_t)(n_trials * D) * sizeof(float));
    double *pot = slm_arena_take(&ar, (size_t)n_trials * (sizeof(double) + sizeof(int64_t)));
    int64_t *ci = (int64_t *)(pot + n_trials);
    slm_status st = SLM_OK;

    memcpy(centers, x + first * D, (size_t)D * sizeof(float));
    chosen[0] = first;
    if ((st = slm_vq_sqdist_f32(dc, x, centers, N, 1, D)) != SLM_OK) goto done;
    for (int64_t i = 0; i < N; i++) d2[i] = dc[i];
    for (int64_t k = 1; k < K; k++) {
        if (slm_interrupted()) {
            st = SLM_INTERRUPTED_ERROR(fn);
            goto done;
        }
        const double *u = uniforms + (k - 1) * n_trials;
        double total = 0.0;
        for (int64_t i = 0; i < N; i++) total += d2[i];
        if (!(total > 0.0)) { /* every row sits on a centre: candidates uniformly */
            for (int64_t t = 0; t < n_trials; t++) {
                int64_t r = (int64_t)(u[t] * (double)N);
                ci[t] = r < N ? r : N - 1;
            }
        } else {
            /* candidate t = first row whose running sum of D^2 reaches u[t] * total
             * (numpy's searchsorted(cumsum, v) on the left side); one scan finds them all */
            for (int64_t t = 0; t < n_trials; t++) ci[t] = N - 1;
            for (int64_t t = 0; t < n_trials; t++) {
                const double v = u[t] * total;
                double run = 0.0;
                for (int64_t i = 0; i < N; i++) {
                    run += d2[i];
                    if (run >= v) {
                        ci[t] = i;
                        break;
                    }
                }
            }
        }
        for (int64_t t = 0; t < n_trials; t++) memcpy(cand + t * D, x + ci[t] * D, (size_t)D * sizeof(float));
        if ((st = slm_vq_sqdist_f32(dc, x, cand, N, n_trials, D)) != SLM_OK) goto done;
        /* the potential each candidate would leave: one sum per candidate, rows in order */
#pragma omp parallel for num_threads(slm_threads()) schedule(static) if (N * n_trials > 65536)
        for (int64_t t = 0; t < n_trials; t++) {
            double p = 0.0;
            for (int64_t i = 0; i < N; i++) {
                const double v = dc[i * n_trials + t];
                p += v < d2[i] ? v : d2[i];
            }
            pot[t] = p;
        }
        int64_t best = 0;
        for (int64_t t = 1; t < n_trials; t++)
            if (pot[t] < pot[best]) best = t;
        for (int64_t i = 0; i < N; i++) {
            const double v = dc[i * n_trials + best];
            if (v < d2[i]) d2[i] = v;
        }
        memcpy(centers + k * D, cand + best * D, (size_t)D * sizeof(float));
        chosen[k] = ci[best];
    }
done:
    slm_arena_release(&ar);
    return st;
}

/* mean over features of the per-feature (population) variance of x (N, D), in float64:
 * the scale of scikit-learn's tol. Threads own blocks of 64 columns and walk the rows in
 * order (two passes: means, then squared deviations); the final sum over columns is
 * sequential, so the value does not depend on the thread count. */
static slm_status mean_variance(double *out, const float *x, int64_t N, int64_t D, const char *fn) {
    double *m = calloc((size_t)D * 2, sizeof(double));
    if (!m) return slm_error(SLM_ERR_NOMEM, fn, "out of memory (%lld feature sums)", (long long)D);
    double *v = m + D;
    const int64_t blocks = (D + 63) / 64;
#pragma omp parallel for num_threads(slm_threads()) schedule(static) if (N * D > 65536 && blocks > 1)
    for (int64_t blk = 0; blk < blocks; blk++) {
        const int64_t d0 = blk * 64, d1 = d0 + 64 < D ? d0 + 64 : D;
        for (int64_t i = 0; i < N; i++)
            for (int64_t d = d0; d < d1; d++) m[d] += x[i * D + d];
        for (int64_t d = d0; d < d1; d++) m[d] /= (double)N;
        for (int64_t i = 0; i < N; i++)
            for (int64_t d = d0; d < d1; d++) {
                const double e = x[i * D + d] - m[d];
                v[d] += e * e;
            }
    }
    double acc = 0.0;
    for (int64_t d = 0; d < D; d++) acc += v[d] / (double)N;
    *out = acc / (double)D;
    free(m);
    return SLM_OK;
}

typedef struct {
    float d;
    int64_t i;
} far_item;

/* larger distance first, then lower index: the order of a stable sort of -dist */
static int far_cmp(const void *a, const void *b) {
    const far_item *p = a, *q = b;
    if (p->d != q->d) return p->d > q->d ? -1 : 1;
    return (p->i > q->i) - (p->i < q->i);
}

/* the e rows of largest dist (ties: lowest index), in that order, into rows (e) */
static slm_status farthest_rows(int64_t *rows, const float *dist, int64_t N, int64_t e, const char *fn) {
    if (e <= 8) { /* a few empty clusters: e selection scans */
        for (int64_t t = 0; t < e; t++) {
            int64_t b = -1;
            for (int64_t i = 0; i < N; i++) {
                int taken = 0;
                for (int64_t s = 0; s < t; s++) taken |= rows[s] == i;
                if (!taken && (b < 0 || dist[i] > dist[b])) b = i;
            }
            rows[t] = b;
        }
        return SLM_OK;
    }
    far_item *it = malloc((size_t)N * sizeof(far_item));
    if (!it) return slm_error(SLM_ERR_NOMEM, fn, "out of memory (%lld row indices)", (long long)N);
    for (int64_t i = 0; i < N; i++) it[i] = (far_item){dist[i], i};
    qsort(it, (size_t)N, sizeof(far_item), far_cmp);
    for (int64_t t = 0; t < e; t++) rows[t] = it[t].i;
    free(it);
    return SLM_OK;
}

/* centers (K, D) in/out, labels (N), dist (N), *n_iter, *inertia <- x (N, D) */
slm_status slm_kmeans_lloyd_f32(float *centers, int64_t *labels, float *dist, int64_t *n_iter, double *inertia,
                                const float *x, int64_t N, int64_t K, int64_t D, int64_t max_iter, double tol) {
    static const char fn[] = "kmeans_lloyd";
    SLM_CHECK(K >= 1 && D >= 1, fn, "bad sizes K=%lld D=%lld", (long long)K, (long long)D);
    SLM_CHECK(N >= K, fn, "n_samples=%lld should be >= n_clusters=%lld", (long long)N, (long long)K);
    SLM_CHECK(max_iter >= 1, fn, "max_iter must be >= 1, got %lld", (long long)max_iter);
    SLM_CHECK(tol >= 0.0 && isfinite(tol), fn, "tol must be finite and >= 0, got %g", tol);
    int64_t nkd;
    SLM_TRY(slm_numel(fn, &nkd, 3, K, D, (int64_t)sizeof(double)));
    SLM_TRY(slm_numel(fn, &nkd, 3, N, 2, (int64_t)sizeof(int64_t)));
    slm_arena ar;
    SLM_TRY(slm_arena_init(&ar,
                           slm_arena_need((size_t)(K * D) * sizeof(double)) +
                               slm_arena_need((size_t)K * sizeof(int64_t) * 2) +
                               slm_arena_need((size_t)N * sizeof(int64_t)),
                           fn));
    double *sums = slm_arena_take(&ar, (size_t)(K * D) * sizeof(double));
    int64_t *cnt = slm_arena_take(&ar, (size_t)K * sizeof(int64_t) * 2);
    int64_t *far = cnt + K;
    int64_t *nlab = slm_arena_take(&ar, (size_t)N * sizeof(int64_t));
    slm_status st;
    if ((st = slm_kmeans_predict_f32(labels, dist, x, centers, N, K, D)) != SLM_OK) goto done;
    double var = 0.0;
    if ((st = mean_variance(&var, x, N, D, fn)) != SLM_OK) goto done;
    const double thresh = tol * var;
    *n_iter = 0;
    for (int64_t it = 1; it <= max_iter; it++) {
        if (slm_interrupted()) {
            st = SLM_INTERRUPTED_ERROR(fn);
            goto done;
        }
        if ((st = slm_kmeans_cluster_sums_f32(sums, cnt, x, labels, N, K, D)) != SLM_OK) goto done;
        int64_t e = 0;
        for (int64_t k = 0; k < K; k++) e += cnt[k] == 0;
        if (e && (st = farthest_rows(far, dist, N, e, fn)) != SLM_OK) goto done;
        double shift = 0.0;
        for (int64_t k = 0, f = 0; k < K; k++) {
            float *c = centers + k * D;
            for (int64_t d = 0; d < D; d++) {
                /* the mean in float64, rounded once; an empty cluster takes the next far row */
                const float v = cnt[k] ? (float)(sums[k * D + d] / (double)cnt[k]) : x[far[f] * D + d];
                const double s = (double)v - (double)c[d];
                shift += s * s;
                c[d] = v;
            }
            if (!cnt[k]) f++;
        }
        *n_iter = it;
        /* x was checked by the first assignment, and the centres are means or rows of it */
        if ((st = slm_vq_nearest_f32(nlab, dist, x, centers, N, K, D, SLM_VQ_L2)) != SLM_OK) goto done;
        const int same = memcmp(nlab, labels, (size_t)N * sizeof(int64_t)) == 0;
        memcpy(labels, nlab, (size_t)N * sizeof(int64_t));
        if (same || shift <= thresh) break;
    }
    double in = 0.0;
    for (int64_t i = 0; i < N; i++) in += dist[i];
    *inertia = in;
done:
    slm_arena_release(&ar);
    return st;
}

/* centers (K, D) in/out, counts (K) in/out, dist (B) or NULL <- x (B, D) */
slm_status slm_kmeans_minibatch_step_f32(float *centers, int64_t *counts, float *dist, const float *x, int64_t B,
                                         int64_t K, int64_t D) {
    static const char fn[] = "kmeans_minibatch_step";
    SLM_CHECK(B >= 1 && K >= 1 && D >= 1, fn, "bad sizes B=%lld K=%lld D=%lld", (long long)B, (long long)K,
              (long long)D);
    for (int64_t k = 0; k < K; k++)
        SLM_CHECK(counts[k] >= 0, fn, "counts[%lld] = %lld is negative", (long long)k, (long long)counts[k]);
    int64_t nkd;
    SLM_TRY(slm_numel(fn, &nkd, 3, K, D, (int64_t)sizeof(double)));
    SLM_TRY(slm_numel(fn, &nkd, 2, B, (int64_t)sizeof(int64_t)));
    slm_arena ar;
    SLM_TRY(slm_arena_init(&ar,
                           slm_arena_need((size_t)(K * D) * sizeof(double)) +
                               slm_arena_need((size_t)K * sizeof(int64_t)) +
                               slm_arena_need((size_t)B * sizeof(int64_t)),
                           fn));
    double *sums = slm_arena_take(&ar, (size_t)(K * D) * sizeof(double));
    int64_t *b = slm_arena_take(&ar, (size_t)K * sizeof(int64_t));
    int64_t *lab = slm_arena_take(&ar, (size_t)B * sizeof(int64_t));
    slm_status st;
    if ((st = slm_kmeans_predict_f32(lab, dist, x, centers, B, K, D)) != SLM_OK) goto done;
    if ((st = slm_kmeans_cluster_sums_f32(sums, b, x, lab, B, K, D)) != SLM_OK) goto done;
    for (int64_t k = 0; k < K; k++) {
        if (!b[k]) continue;
        const double n = (double)counts[k], tot = (double)(counts[k] + b[k]);
        float *c = centers + k * D;
        /* the running mean: sklearn's c += (mean_new - c) * b / (count + b) */
        for (int64_t d = 0; d < D; d++) c[d] = (float)(((double)c[d] * n + sums[k * D + d]) / tot);
        counts[k] += b[k];
    }
done:
    slm_arena_release(&ar);
    return st;
}
