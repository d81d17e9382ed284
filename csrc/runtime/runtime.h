/* runtime.h: internal runtime services for kernels and the glue.
 *
 * Errors (code + thread-local message), overflow-checked sizes, aligned memory and the
 * per-call scratch arena, the thread count, interruption checks and path dispatch. It
 * sits at the bottom of the layering: it includes no Python, no intrinsics, no oneDNN.
 */
#ifndef SLM_RUNTIME_H
#define SLM_RUNTIME_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "slm.h"

#if defined(__GNUC__)
#define SLM_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define SLM_LIKELY(x) __builtin_expect(!!(x), 1)
#define SLM_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define SLM_PRINTF(a, b)
#define SLM_LIKELY(x) (x)
#define SLM_UNLIKELY(x) (x)
#endif

/* ---- errors ---- */
/* Set the thread-local error and return code. fn names the public function. */
slm_status slm_error(slm_status code, const char *fn, const char *fmt, ...) SLM_PRINTF(3, 4);

/* Return SLM_ERR_VALUE from the enclosing function unless cond holds. */
#define SLM_CHECK(cond, fn, ...)                                                          \
    do {                                                                                  \
        if (SLM_UNLIKELY(!(cond))) return slm_error(SLM_ERR_VALUE, fn, __VA_ARGS__);      \
    } while (0)

/* Propagate a non-OK status. */
#define SLM_TRY(expr)                                                                     \
    do {                                                                                  \
        slm_status slm_try_st_ = (expr);                                                  \
        if (slm_try_st_ != SLM_OK) return slm_try_st_;                                    \
    } while (0)

/* ---- sizes ---- */
/* *out = a * b; false on overflow or negative input */
static inline bool slm_mul_ok(int64_t a, int64_t b, int64_t *out) {
    if (a < 0 || b < 0) return false;
    return !__builtin_mul_overflow(a, b, out);
}
/* product of n sizes with overflow check, SLM_ERR_NOMEM "size overflows" on failure */
slm_status slm_numel(const char *fn, int64_t *out, int n, ...);

/* ---- memory ---- */
/* A per-call scratch arena: one aligned block, carved into 64-byte aligned pieces.
 * Freed in one go; nothing from it is ever returned to the caller. */
typedef struct {
    char *base;
    size_t size;
    size_t used;
} slm_arena;

/* arena of `bytes` (plus alignment slack); SLM_ERR_NOMEM on failure */
slm_status slm_arena_init(slm_arena *a, size_t bytes, const char *fn);
/* a 64-byte aligned piece; NULL if the arena is too small (a bug in the caller's
 * size computation: callers size the arena up front with slm_arena_need) */
void *slm_arena_take(slm_arena *a, size_t bytes);
void slm_arena_release(slm_arena *a);
/* bytes an arena needs to serve a piece of `bytes` (rounded up to 64) */
static inline size_t slm_arena_need(size_t bytes) { return (bytes + 63) & ~(size_t)63; }

/* ---- threads ---- */
/* the thread count for this call (slm_set_num_threads); kernels use it in
 * `#pragma omp parallel num_threads(slm_threads())` */
int slm_threads(void);
/* make oneDNN (OpenMP runtime, calling thread) use slm_threads() */
void slm_threads_sync_omp(void);

/* ---- interruption ---- */
extern volatile int slm_interrupt_flag_;
static inline int slm_interrupted(void) { return __atomic_load_n(&slm_interrupt_flag_, __ATOMIC_RELAXED); }
#define SLM_INTERRUPTED_ERROR(fn) slm_error(SLM_ERR_INTERRUPTED, fn, "interrupted")

/* ---- CPU and dispatch ---- */
typedef struct {
    bool avx2, fma, f16c, avx512f, avx512bw, avx512dq, avx512vl, avx512_bf16, avx512_vnni;
    bool os_avx, os_avx512; /* xgetbv: the OS saves the ymm / zmm state */
} slm_cpu_info;
const slm_cpu_info *slm_cpu(void);

/* SLM_ERR_BACKEND with a message if SLM_BACKEND names a path that cannot run here */
slm_status slm_backend_env_status(void);

/* true if this build has SIMD objects for the path (set by the build) */
bool slm_build_has_path(slm_path p);

#endif /* SLM_RUNTIME_H */
