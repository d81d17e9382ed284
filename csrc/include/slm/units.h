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

/* Unit BPE training: merges (num_merges, 2) and *n_merges <- tokens (n,), the corpus with
 * -1 between sequences (no pair crosses a -1), units in [0, base_vocab). Each step merges
 * the most frequent adjacent pair (overlapping occurrences counted, e.g. 0 0 0 has two (0, 0)),
 * ties to the smallest (a, b); occurrences are replaced left to right; merge r creates token
 * base_vocab + r. Stops after num_merges, or when the best pair occurs < min_frequency
 * times, or when no pair is left. base_vocab + num_merges must stay below 2^31. */
slm_status slm_units_bpe_train(int64_t *merges, int64_t *n_merges, const int64_t *tokens, int64_t n,
                               int64_t base_vocab, int64_t num_merges, int64_t min_frequency);

/* Unit BPE encoding: out_tokens (*n_out,) <- units (n,) in [0, base_vocab) with merges
 * (n_merges, 2) applied by rank (lowest rank first, leftmost first within a rank), which
 * equals applying each merge in learned order. With durations (n,) (else NULL),
 * out_durations (*n_out,) gets each token's summed duration. Outputs must hold n entries. */
slm_status slm_units_bpe_encode(int64_t *out_tokens, int64_t *out_durations, int64_t *n_out, const int64_t *units,
                                const int64_t *durations, int64_t n, const int64_t *merges, int64_t n_merges,
                                int64_t base_vocab);

#ifdef __cplusplus
}
#endif

#endif
