/* slm.h: the public C API of slm, usable without Python.
 *
 * slm is a toolkit for speech language models; this header is the C core under the
 * Python package. It compiles as plain C99. Every entry point returns an slm_status;
 * on failure slm_last_error() gives a message (thread-local) that names the function
 * and the bad value. Nothing here aborts, exits or asserts on user input.
 *
 * Shape legend used across the API (as in llm.c):
 *   B batch, T frames/tokens, C channels, L length (samples or frames), K kernel width
 *   or codebook size, V vocabulary, H heads, D head size, M/N/K GEMM sizes.
 * Buffers are dense, row-major (C-contiguous), float32 unless the suffix says otherwise.
 * Sizes are int64_t everywhere: no op is limited to 2^31 elements.
 */
#ifndef SLM_H
#define SLM_H

#include <stddef.h>
#include <stdint.h>

#define SLM_VERSION_MAJOR 0
#define SLM_VERSION_MINOR 1
#define SLM_VERSION_PATCH 0
#define SLM_VERSION_STRING "0.1.0"
/* one integer that grows with every release: MAJOR*10000 + MINOR*100 + PATCH */
#define SLM_VERSION (SLM_VERSION_MAJOR * 10000 + SLM_VERSION_MINOR * 100 + SLM_VERSION_PATCH)

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status codes ------------------------------------------------------------------ */
typedef enum {
    SLM_OK = 0,
    SLM_ERR_VALUE = 1,       /* bad value or shape (Python: ValueError) */
    SLM_ERR_TYPE = 2,        /* bad dtype (Python: TypeError) */
    SLM_ERR_NOMEM = 3,       /* allocation failed or size overflows (Python: MemoryError) */
    SLM_ERR_IO = 4,          /* file or stream error (Python: OSError) */
    SLM_ERR_BACKEND = 5,     /* a kernel path is unavailable or failed (slm.BackendError) */
    SLM_ERR_INTERRUPTED = 6, /* stopped by slm_request_interrupt() (KeyboardInterrupt) */
    SLM_ERR_INTERNAL = 7     /* a bug in slm: please report (RuntimeError) */
} slm_status;

/* message of the last failing call on this thread ("" if none) */
const char *slm_last_error(void);
/* the code of the last failing call on this thread */
slm_status slm_last_status(void);
/* forget the last error on this thread */
void slm_clear_error(void);
/* "SLM_ERR_VALUE", ... */
const char *slm_status_name(slm_status s);

/* ---- version ----------------------------------------------------------------------- */
/* SLM_VERSION of the library actually linked (may differ from this header's) */
int slm_version(void);

/* ---- kernel paths (backends) ------------------------------------------------------- */
typedef enum {
    SLM_PATH_REF = 0,    /* scalar C, always built: the oracle */
    SLM_PATH_AVX2 = 1,   /* AVX2 + FMA */
    SLM_PATH_AVX512 = 2, /* AVX-512 F/BW/DQ/VL */
    SLM_PATH_DNNL = 3,   /* oneDNN primitives (GEMM, convolutions); SIMD paths elsewhere */
    SLM_PATH_AUTO = 4,   /* fastest path per op family (the default) */
    SLM_PATH_COUNT_ = 5
} slm_path;

/* op families: each family is dispatched to one path at a time */
typedef enum {
    SLM_FAMILY_GEMM = 0,   /* linear, matmul */
    SLM_FAMILY_CONV,       /* conv1d, conv_transpose1d */
    SLM_FAMILY_NORM,       /* layer_norm, group_norm, rms_norm */
    SLM_FAMILY_ACT,        /* gelu, silu, relu, ..., snake, softmax, rope */
    SLM_FAMILY_ATTN,       /* scaled_dot_product_attention */
    SLM_FAMILY_RNN,        /* lstm */
    SLM_FAMILY_VQ,         /* nearest-codeword search */
    SLM_FAMILY_EMBED,      /* embedding */
    SLM_FAMILY_DSP,        /* fft, stft/istft, mel front ends, resample, f0, griffin_lim */
    SLM_FAMILY_COUNT_
} slm_family;

/* "ref", "avx2", "avx512", "dnnl", "auto"; NULL for an out-of-range value */
const char *slm_path_name(slm_path p);
/* parse a path name; SLM_ERR_VALUE for an unknown name */
slm_status slm_path_parse(const char *name, slm_path *out);
const char *slm_family_name(slm_family f);
/* 1 if this build contains the path and this CPU/OS can run it */
int slm_path_available(slm_path p);
/* 1 if the family has an implementation on path p (regardless of the CPU) */
int slm_family_implements(slm_family f, slm_path p);
/* Force a path for every family (SLM_PATH_AUTO restores the default). A path the
 * machine cannot run gives SLM_ERR_BACKEND and leaves the setting unchanged. Families
 * that lack the forced path use the best SIMD path below it (dnnl -> avx512 -> avx2 ->
 * ref; avx512 -> avx2 -> ref; avx2 -> ref). Not thread-safe against running kernels:
 * set it between calls. */
slm_status slm_set_path(slm_path p);
slm_path slm_get_path(void);
/* the path family f uses now */
slm_path slm_family_path(slm_family f);

/* CPU features seen at run time (cpuid + xgetbv) as a space-separated list */
const char *slm_cpu_features(void);
/* 1 if oneDNN was linked into this build; its version string or "" */
int slm_have_dnnl(void);
const char *slm_dnnl_version(void);

/* ---- threads ----------------------------------------------------------------------- */
/* One setting for slm's kernels and oneDNN alike. n >= 1; SLM_ERR_VALUE otherwise. */
slm_status slm_set_num_threads(int n);
int slm_get_num_threads(void);

/* ---- interruption ------------------------------------------------------------------ */
/* Async-signal-safe: ask running kernels to stop at their next check point; they
 * return SLM_ERR_INTERRUPTED. slm_clear_interrupt() re-arms. */
void slm_request_interrupt(void);
void slm_clear_interrupt(void);
int slm_interrupt_pending(void);

/* ---- memory ------------------------------------------------------------------------ */
/* 64-byte aligned allocation; NULL with SLM_ERR_NOMEM set on failure or overflow */
void *slm_alloc(size_t bytes);
void slm_free(void *p);

/* ---- bf16 -------------------------------------------------------------------------- */
/* bf16 values are stored as uint16_t bit patterns (the top half of a float32).
 * Conversion rounds to nearest even, NaN stays NaN (as torch.Tensor.to(bfloat16)). */
void slm_f32_to_bf16(uint16_t *out, const float *inp, int64_t n);
void slm_bf16_to_f32(float *out, const uint16_t *inp, int64_t n);

#ifdef __cplusplus
}
#endif

/* ---- ops, one header per family ---------------------------------------------------- */
#include "slm/ops_gemm.h"
#include "slm/ops_conv.h"
#include "slm/ops_norm_act.h"
#include "slm/ops_attn.h"
#include "slm/ops_rnn_vq.h"
#include "slm/ops_embed.h"
#include "slm/dsp.h"
#include "slm/features.h"
#include "slm/f0.h"
#include "slm/audio.h"
#include "slm/units.h"
#include "slm/kmeans.h"
#include "slm/rvq.h"
#include "slm/convseq.h"
#include "slm/models.h"

#endif /* SLM_H */
