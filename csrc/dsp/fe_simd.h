/* fe_simd.h: SIMD helpers of the feature front ends (csrc/kernels/simd/fe_simd.c, one
 * source compiled for AVX2 and AVX-512). frontends.c calls them on the DSP family's path
 * and keeps the scalar loops as the ref path. */
#ifndef SLM_DSP_FE_SIMD_H
#define SLM_DSP_FE_SIMD_H

#include <stdint.h>

/* y (n) = a * log(max(y, floor) + offset) - sub in place, log the natural logarithm;
 * the front ends' log kinds map onto a (1, 1/ln 10, db_mult/ln 10), floor, offset, sub.
 * Needs floor + offset >= FLT_MIN (normal numbers); +Inf stays +Inf. About 1 ulp. */
void slm_fe_log_avx2(float *y, int64_t n, float a, float floor, float offset, float sub);
void slm_fe_log_avx512(float *y, int64_t n, float a, float floor, float offset, float sub);

#endif
