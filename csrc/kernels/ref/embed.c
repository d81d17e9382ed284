/* embed.c: embedding lookup (token id -> row), the first op of every LM and unit
 * vocoder. A gather of rows: memcpy is already the fastest path, so the family has
 * only the reference implementation. */
#include <string.h>

#include "../../runtime/runtime.h"

slm_status slm_embedding_f32(float *out, const float *table, const int64_t *idx, int64_t N,
                             int64_t V, int64_t D) {
    static const char fn[] = "embedding";
    SLM_CHECK(N >= 0 && V >= 0 && D >= 0, fn, "negative size (N=%lld, V=%lld, D=%lld)",
              (long long)N, (long long)V, (long long)D);
    /* check every index before writing anything */
    for (int64_t i = 0; i < N; i++)
        SLM_CHECK(idx[i] >= 0 && idx[i] < V, fn, "index %lld at position %lld is out of range [0, %lld)",
                  (long long)idx[i], (long long)i, (long long)V);
    int nt = slm_threads();
    int stop = 0;
#pragma omp parallel for num_threads(nt) schedule(static) if (N * D > (1 << 16))
    for (int64_t i = 0; i < N; i++) {
        if (slm_interrupted()) {
            stop = 1;
            continue;
        }
        memcpy(out + i * D, table + idx[i] * D, (size_t)D * sizeof(float));
    }
    if (stop) return SLM_INTERRUPTED_ERROR(fn);
    return SLM_OK;
}
