/* weights.c: binding a model's named weights (lookup with shape checks) and packing them
 * into the model's single allocation. See nn.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "nn.h"

static void shape_str(char *buf, size_t cap, int ndim, const int64_t *shape) {
    size_t k = (size_t)snprintf(buf, cap, "(");
    for (int i = 0; i < ndim && k < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, i ? ", %lld" : "%lld", (long long)shape[i]);
    if (k < cap) snprintf(buf + k, cap - k, ndim == 1 ? ",)" : ")");
}

static const slm_weight *find(const slm_wset *ws, const char *name) {
    for (int64_t i = 0; i < ws->n; i++)
        if (ws->w[i].name && strcmp(ws->w[i].name, name) == 0) return &ws->w[i];
    return NULL;
}

const slm_weight *slm_wset_find(const slm_wset *ws, const char *fmt, ...) {
    char name[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    return find(ws, name);
}

slm_status slm_wset_get(const slm_wset *ws, const float **out, int ndim, const int64_t *shape,
                        const char *fmt, ...) {
    char name[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    const slm_weight *w = find(ws, name);
    char want[128], got[128];
    shape_str(want, sizeof want, ndim, shape);
    if (!w) return slm_error(SLM_ERR_VALUE, ws->fn, "missing weight '%s' of shape %s", name, want);
    int same = w->ndim == ndim && w->data != NULL;
    for (int i = 0; same && i < ndim; i++) same = w->shape[i] == shape[i];
    if (!same) {
        shape_str(got, sizeof got, w->ndim < 0 || w->ndim > SLM_WEIGHT_MAX_NDIM ? 0 : w->ndim,
                  w->shape);
        return slm_error(SLM_ERR_VALUE, ws->fn, "weight '%s' has shape %s, expected %s", name, got,
                         want);
    }
    *out = w->data;
    return SLM_OK;
}

void *slm_pack_take(slm_pack *p, int64_t bytes) {
    int64_t at = p->used;
    p->used += ((bytes + 63) & ~(int64_t)63) / (int64_t)sizeof(float); /* 64-byte aligned slots */
    return p->base ? (void *)(p->base + at) : NULL;
}

float *slm_pack_put(slm_pack *p, const float *src, int64_t n) {
    float *dst = (float *)slm_pack_take(p, n * (int64_t)sizeof(float));
    if (!dst) return NULL;
    if (src) memcpy(dst, src, (size_t)n * sizeof(float));
    else memset(dst, 0, (size_t)n * sizeof(float));
    return dst;
}

slm_status slm_pack_alloc(slm_pack *p, const char *fn) {
    int64_t bytes;
    SLM_TRY(slm_numel(fn, &bytes, 2, p->used, (int64_t)sizeof(float)));
    p->base = (float *)slm_alloc((size_t)bytes);
    if (!p->base) return slm_error(SLM_ERR_NOMEM, fn, "cannot allocate %lld bytes of weights", (long long)bytes);
    p->cap = p->used;
    p->used = 0;
    return SLM_OK;
}
