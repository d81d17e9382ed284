/* kmeans.h: public C API of k-means: nearest-centroid assignment and training (see slm.h for conventions). */
#ifndef SLM_KMEANS_H
#define SLM_KMEANS_H

#include <stdint.h>
#include "../slm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* labels (N) = index of the centroid of centroids (K, D) nearest to each row of x (N, D) in
 * squared Euclidean distance (scikit-learn KMeans.predict); ties give the lowest index.
 * dist (N), if not NULL, gets that squared distance. Runs the vq family's nearest-codeword
 * kernel (blocked x.c^T with norms, SIMD on avx2/avx512). NaN/Inf in x or centroids is
 * SLM_ERR_VALUE naming the row. Needs K >= 1, D >= 1; N may be 0. */
slm_status slm_kmeans_predict_f32(int64_t *labels, float *dist, const float *x, const float *centroids,
                                  int64_t N, int64_t K, int64_t D);

/* sums (K, D) float64, counts (K) = per-cluster sums and sizes of the rows of x (N, D)
 * with labels (N) in [0, K): the centre update of Lloyd and mini-batch k-means. Each sum
 * adds its rows in row order in float64, whatever the thread count (threads split the
 * feature columns), so results are bit-identical across runs and machines. A label out
 * of range is SLM_ERR_VALUE naming the row. */
slm_status slm_kmeans_cluster_sums_f32(double *sums, int64_t *counts, const float *x, const int64_t *labels,
                                       int64_t N, int64_t K, int64_t D);

/* k-means++ seeding (Arthur & Vassilvitskii) with scikit-learn's greedy trials: centres
 * (K, D) and chosen (K, row index of x each centre copies) <- x (N, D). The first centre is
 * row `first`; each later one draws n_trials candidates with probability proportional to
 * D^2 (the squared distance to the nearest centre so far), using the caller's uniform
 * numbers uniforms ((K - 1) * n_trials, each in [0, 1)), and keeps the candidate that
 * lowers the potential (sum of D^2) most, the first on equal potentials. All randomness
 * comes from the caller, so seeding is reproducible; potentials are float64 sums in row
 * order, independent of the thread count. Needs 1 <= K <= N, n_trials >= 1. */
slm_status slm_kmeans_plusplus_f32(float *centers, int64_t *chosen, const float *x, int64_t N, int64_t K,
                                   int64_t D, int64_t first, const double *uniforms, int64_t n_trials);

/* Lloyd iterations from the centres given: centers (K, D) in: initial, out: final;
 * labels (N) and dist (N) (squared distance to the assigned centre) under the final centres;
 * *n_iter iterations done; *inertia = sum of dist in float64. Each iteration moves every
 * centre to the mean of its rows (float64 sums in row order), an empty cluster to the
 * farthest rows (largest distance, lowest index first), and stops when no label changed or
 * the summed squared centre shift is <= tol * (mean per-feature variance of x), the rule of
 * scikit-learn KMeans. max_iter >= 1, tol >= 0. */
slm_status slm_kmeans_lloyd_f32(float *centers, int64_t *labels, float *dist, int64_t *n_iter, double *inertia,
                                const float *x, int64_t N, int64_t K, int64_t D, int64_t max_iter, double tol);

/* One mini-batch step (scikit-learn MiniBatchKMeans's per-centre learning rate): the rows
 * of x (B, D) are assigned to centers (K, D), then every centre that got b > 0 rows moves to
 * (c * counts + sum of its rows) / (counts + b), the running mean, and counts += b.
 * dist (B), if not NULL, gets each row's squared distance before the update. */
slm_status slm_kmeans_minibatch_step_f32(float *centers, int64_t *counts, float *dist, const float *x, int64_t B,
                                         int64_t K, int64_t D);

#ifdef __cplusplus
}
#endif

#endif
