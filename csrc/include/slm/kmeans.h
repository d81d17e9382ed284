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

#ifdef __cplusplus
}
#endif

#endif
