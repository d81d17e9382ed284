/* fft_simd.c: the FFT lane kernels (csrc/dsp/fft_kernel.h) for the AVX2 and AVX-512
 * paths: one vector lane per frame, 8 or 16 frames per call. Written only against
 * simd.h; the plans and the entries live in csrc/dsp/fft.c. */
#include "simd.h"

#define FFTK(name) SLM_SIMD_FN(name)
#include "../../dsp/fft_kernel.h"
