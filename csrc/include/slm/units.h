/* units.h: public C API of speech-unit sequences: deduplication with durations, unit BPE (see slm.h for conventions). */
#ifndef SLM_UNITS_H
#define SLM_UNITS_H

#include <stdint.h>
#include "../slm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Collapse runs of equal consecutive units. units (n,) >= 0 -> out_units (*n_out,), out_durations
 * (*n_out,) = run lengths; both outputs must hold n entries. SLM_ERR_VALUE for a negative unit. */
slm_status slm_units_dedup(int64_t *out_units, int64_t *out_durations, int64_t *n_out, const int64_t *units,
                           int64_t n);

/* Inverse of dedup: out (total,) = units[i] repeated durations[i] times; total = sum(durations),
 * computed by the caller (durations >= 0, checked). */
slm_status slm_units_repeat(int64_t *out, const int64_t *units, const int64_t *durations, int64_t n,
                            int64_t total);

#ifdef __cplusplus
}
#endif

#endif
