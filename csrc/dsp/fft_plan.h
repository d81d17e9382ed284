/* fft_plan.h: the layout of FFT plans, shared by the plan builder (fft.c) and the lane
 * kernels (fft_kernel.h, compiled for ref in fft.c and for AVX2/AVX-512 in
 * csrc/kernels/simd/fft_simd.c). Internal to the FFT; users see spectral.h only.
 *
 * A complex plan of length n is either a list of Stockham passes (radix p, l1 = product
 * of the radices before it, ido = n / (l1 p)), pocketfft/FFTPACK's autosort scheme with
 * the twiddles applied after each butterfly, or Bluestein's chirp-z transform on a
 * sub-plan of length m >= 2n - 1 with only small radices.
 *
 * Lane layout of the work buffers: complex element e of lane l (frame l of a group of
 * VW frames) has its real part at buf[e*2*VW + l] and its imaginary part at
 * buf[e*2*VW + VW + l]; with VW = 1 (ref) that is plain interleaved complex.
 */
#ifndef SLM_DSP_FFT_PLAN_H
#define SLM_DSP_FFT_PLAN_H

#include <stdint.h>

#include "spectral.h"

#define SLM_FFT_MAX_RADIX 61 /* largest odd prime done by the generic pass; above: Bluestein */
#define SLM_FFT_MAX_PASSES 64
#define SLM_FFT_MAX_LANES 16 /* widest path (AVX-512): scratch is sized for it */

typedef struct {
    int p;              /* radix */
    int64_t l1, ido;    /* product of earlier radices; n / (l1 p) */
    const float *tw;    /* ((p-1), ido) complex interleaved: exp(-2 pi i j i' / (p ido)) */
    const float *cs;    /* odd p: cos(2 pi q/p) for q < p, then sin(2 pi q/p) for q < p */
} slm_fft_pass;

struct slm_cfft_plan {
    int64_t n;
    int npass;
    slm_fft_pass pass[SLM_FFT_MAX_PASSES];
    struct slm_cfft_plan *blu; /* Bluestein sub-plan (length m), or NULL */
    const float *chirp;        /* (n) complex: exp(-pi i k^2 / n) */
    const float *bfft;         /* (m) complex: DFT of the conjugate chirp, times 1/m */
    int64_t scratch;           /* floats of lane scratch for SLM_FFT_MAX_LANES lanes */
    float *mem;                /* one allocation for all the tables */
};

struct slm_rfft_plan {
    int64_t n;
    int64_t half;         /* n/2 for even n (half-length complex trick), 0 for odd n */
    slm_cfft_plan *c;     /* length n/2 (even n) or n (odd n) */
    float *w;             /* even n: (n/2 + 1) complex exp(-2 pi i k / n) */
    int64_t scratch;      /* floats for one slm_rfft_frames / slm_irfft_frames call */
};

/* lane kernels, one set per path: up to `lanes` rows per call, single thread */
#define SLM_FFT_DECLARE(sfx)                                                              \
    void slm_fft_r2c_rows_##sfx(const slm_rfft_plan *p, float *out, int64_t ors, int64_t oks, \
                                const float *in, int64_t is, const float *win, int64_t nrows, \
                                int mode, float scale, float *scratch);                   \
    void slm_fft_c2r_rows_##sfx(const slm_rfft_plan *p, float *out, int64_t os, const float *in, \
                                int64_t irs, int64_t iks, int64_t nrows, float scale,    \
                                float *scratch);                                         \
    void slm_fft_c2c_rows_##sfx(const slm_cfft_plan *p, float *out, const float *in,     \
                                int64_t nrows, int inverse, float scale, float *scratch); \
    extern const int slm_fft_lanes_##sfx;

SLM_FFT_DECLARE(ref)
SLM_FFT_DECLARE(avx2)
SLM_FFT_DECLARE(avx512)

#endif
