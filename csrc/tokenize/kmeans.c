/* kmeans.c: k-means nearest-centroid assignment (scikit-learn KMeans.predict semantics).
 * The search itself is the vq family's nearest-codeword kernel, which already computes
 * ||x||^2 - 2 x.c + ||c||^2 blocked over rows and codewords with SIMD on avx2/avx512 and
 * threads over rows; this entry only validates the k-means-specific arguments, so the
 * assignment used by predict, fit and partial_fit is one code path. Training loops
 * (k-means++, Lloyd, mini-batch) live in slm/tokenizers/_kmeans.py on top of it. */
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
