/* kmeans.c: k-means nearest-centroid assignment (scikit-learn KMeans.predict semantics).
 * The search itself is the vq family's nearest-codeword kernel, which already computes
 * ||x||^2 - 2 x.c + ||c||^2 blocked over rows and codewords with SIMD on avx2/avx512 and
 * threads over rows; this entry only validates the k-means-specific arguments, so the
 * assignment used by predict, fit and partial_fit is one code path. The centre update
 * (per-cluster sums) is here too; the iteration loops (k-means++, Lloyd, mini-batch)
 * live in slm/tokenizers/_kmeans.py on top of these two. */
#include <string.h>

#include "slm/kmeans.h"

#include "slm/ops_rnn_vq.h"
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
     * one sum happen in row order, as a single-threaded pass would do them */
    int nt = slm_threads();
    int64_t blocks = (D + 63) / 64;
#pragma omp parallel for num_threads(nt) schedule(static) if (N * D > 65536 && blocks > 1)
    for (int64_t blk = 0; blk < blocks; blk++) {
        int64_t d0 = blk * 64, d1 = d0 + 64 < D ? d0 + 64 : D;
        for (int64_t i = 0; i < N; i++) {
            double *s = sums + labels[i] * D;
            const float *xi = x + i * D;
            for (int64_t d = d0; d < d1; d++) s[d] += (double)xi[d];
        }
    }
    return SLM_OK;
}
