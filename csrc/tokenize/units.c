/* units.c: run-length deduplication of speech-unit sequences (k-means ids per frame) and its
 * exact inverse. Single pass, no scratch memory; the loops are memory bound, so there is no
 * SIMD or threaded version (the same scalar code runs on every path). */
#include "slm/units.h"

#include "../runtime/runtime.h"

/* units (n,) -> out_units (*n_out,), out_durations (*n_out,) */
slm_status slm_units_dedup(int64_t *out_units, int64_t *out_durations, int64_t *n_out, const int64_t *units,
                           int64_t n) {
    static const char fn[] = "slm_units_dedup";
    SLM_CHECK(n >= 0, fn, "n must be >= 0, got %lld", (long long)n);
    for (int64_t i = 0; i < n; i++)
        SLM_CHECK(units[i] >= 0, fn, "units must be >= 0, got %lld at index %lld", (long long)units[i],
                  (long long)i);
    int64_t m = 0;
    for (int64_t i = 0; i < n;) {
        int64_t j = i + 1;
        while (j < n && units[j] == units[i]) j++;
        out_units[m] = units[i];
        out_durations[m] = j - i;
        m++;
        i = j;
    }
    *n_out = m;
    return SLM_OK;
}

/* units (n,), durations (n,) -> out (total,) */
slm_status slm_units_repeat(int64_t *out, const int64_t *units, const int64_t *durations, int64_t n,
                            int64_t total) {
    static const char fn[] = "slm_units_repeat";
    int64_t sum = 0;
    for (int64_t i = 0; i < n; i++) {
        SLM_CHECK(durations[i] >= 0, fn, "durations must be >= 0, got %lld at index %lld",
                  (long long)durations[i], (long long)i);
        SLM_CHECK(sum <= INT64_MAX - durations[i], fn, "sum of durations overflows int64");
        sum += durations[i];
    }
    SLM_CHECK(sum == total, fn, "total must equal sum(durations) = %lld, got %lld", (long long)sum,
              (long long)total);
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t d = 0; d < durations[i]; d++) out[k++] = units[i];
    return SLM_OK;
}
