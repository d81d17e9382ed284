/* memory.c: aligned allocation, the per-call scratch arena, bf16 conversion.
 *
 * Kernels never call malloc directly: they size one scratch arena up front, take
 * 64-byte aligned pieces from it, and free it in one go, so a failed allocation is a
 * status (SLM_ERR_NOMEM) and never a crash, and nothing leaks on an error path.
 */
#include <stdlib.h>
#include <string.h>

#include "runtime.h"

void *slm_alloc(size_t bytes) {
    if (bytes == 0) bytes = 64;
    if (bytes > (SIZE_MAX >> 1)) {
        slm_error(SLM_ERR_NOMEM, "slm_alloc", "cannot allocate %zu bytes", bytes);
        return NULL;
    }
    void *p = NULL;
    size_t rounded = (bytes + 63) & ~(size_t)63;
    if (posix_memalign(&p, 64, rounded) != 0 || p == NULL) {
        slm_error(SLM_ERR_NOMEM, "slm_alloc", "cannot allocate %zu bytes", bytes);
        return NULL;
    }
    return p;
}

void slm_free(void *p) { free(p); }

slm_status slm_arena_init(slm_arena *a, size_t bytes, const char *fn) {
    a->base = NULL;
    a->size = 0;
    a->used = 0;
    if (bytes == 0) return SLM_OK;
    a->base = (char *)slm_alloc(bytes);
    if (!a->base)
        return slm_error(SLM_ERR_NOMEM, fn, "cannot allocate %zu bytes of scratch memory", bytes);
    a->size = bytes;
    return SLM_OK;
}

void *slm_arena_take(slm_arena *a, size_t bytes) {
    size_t need = slm_arena_need(bytes);
    if (a->base == NULL || need > a->size - a->used) return NULL;
    void *p = a->base + a->used;
    a->used += need;
    return p;
}

void slm_arena_release(slm_arena *a) {
    slm_free(a->base);
    a->base = NULL;
    a->size = a->used = 0;
}

void slm_f32_to_bf16(uint16_t *out, const float *inp, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &inp[i], 4);
        if ((u & 0x7fffffffu) > 0x7f800000u) {
            out[i] = (uint16_t)((u >> 16) | 0x40u); /* quiet NaN, sign kept */
        } else {
            uint32_t lsb = (u >> 16) & 1u;
            out[i] = (uint16_t)((u + 0x7fffu + lsb) >> 16);
        }
    }
}

void slm_bf16_to_f32(float *out, const uint16_t *inp, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        uint32_t u = (uint32_t)inp[i] << 16;
        memcpy(&out[i], &u, 4);
    }
}
