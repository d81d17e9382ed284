/* conv_dnnl.c: conv1d and conv_transpose1d through oneDNN's convolution_forward and
 * deconvolution_forward primitives (f32, inference).
 *
 * The user's tensors are plain (ncw input/output; torch's weight layouts, which oneDNN
 * calls goiw for the conv and giow for the deconv). The primitive keeps input and output
 * plain and lets oneDNN pick the weight layout; the weights are reordered on every call
 * (slm's conv ops take them per call, so they cannot be reordered once; the reorder
 * code handles input/output reorders too, should a layout ever differ). Creating a
 * primitive costs far more than running a small one, so primitives and their reorders
 * are kept in a small cache keyed by every shape parameter and the thread count. The
 * cache is thread-safe: entries are reference-counted and an evicted entry is destroyed
 * by its last user. Scratchpads are user-managed (one allocation per call) so that
 * concurrent calls may share a primitive.
 */
#include <pthread.h>
#include <string.h>

#include "dnnl_common.h"
#include "../conv.h"

#ifdef SLM_HAVE_DNNL

enum { KIND_CONV = 0, KIND_DECONV = 1 };

/* Every shape parameter, and the thread count: oneDNN's OpenMP kernels split their work
 * for the number of threads at creation and keep that team size when they run, so a
 * primitive made for 2 threads would keep using 2 after slm_set_num_threads(1). */
typedef struct {
    int64_t kind, has_bias, N, Cin, L, Cout, K, Lout, stride, pad_l, pad_r, dilation, groups, threads;
} conv_key;

/* an argument's plain (user) layout, the primitive's layout, and the reorder between */
typedef struct {
    dnnl_memory_desc_t user, prim;
    dnnl_primitive_t reorder; /* NULL when the layouts are the same */
    size_t bytes;             /* size of the primitive-layout buffer when a reorder runs */
} conv_arg;

typedef struct {
    conv_key key;
    int refs; /* 1 for the cache's slot + 1 per call using it */
    dnnl_primitive_t prim;
    conv_arg src, wei, dst;
    dnnl_memory_desc_t bias_md, scratch_md;
    size_t scratch_bytes;
} conv_entry;

#define CACHE_SLOTS 32
static conv_entry *cache_[CACHE_SLOTS];
static int cache_next_ = 0;
static pthread_mutex_t cache_lock_ = PTHREAD_MUTEX_INITIALIZER;

static void entry_destroy(conv_entry *e) {
    if (!e) return;
    if (e->prim) dnnl_primitive_destroy(e->prim);
    if (e->src.reorder) dnnl_primitive_destroy(e->src.reorder);
    if (e->wei.reorder) dnnl_primitive_destroy(e->wei.reorder);
    if (e->dst.reorder) dnnl_primitive_destroy(e->dst.reorder);
    slm_free(e);
}

static void entry_release(conv_entry *e) {
    pthread_mutex_lock(&cache_lock_);
    int last = --e->refs == 0;
    pthread_mutex_unlock(&cache_lock_);
    if (last) entry_destroy(e);
}

/* the cached entry for key (with a reference taken), or NULL */
static conv_entry *cache_find(const conv_key *key) {
    conv_entry *hit = NULL;
    pthread_mutex_lock(&cache_lock_);
    for (int i = 0; i < CACHE_SLOTS; i++)
        if (cache_[i] && memcmp(&cache_[i]->key, key, sizeof *key) == 0) {
            hit = cache_[i];
            hit->refs++;
            break;
        }
    pthread_mutex_unlock(&cache_lock_);
    return hit;
}

/* put a new entry (refs == 1, the caller's) in the cache; returns the entry to use,
 * which is an equal one that another thread inserted meanwhile, if any */
static conv_entry *cache_insert(conv_entry *e) {
    conv_entry *evicted = NULL, *use = e;
    pthread_mutex_lock(&cache_lock_);
    for (int i = 0; i < CACHE_SLOTS; i++)
        if (cache_[i] && memcmp(&cache_[i]->key, &e->key, sizeof e->key) == 0) {
            use = cache_[i];
            use->refs++;
            break;
        }
    if (use == e) {
        int slot = cache_next_;
        cache_next_ = (cache_next_ + 1) % CACHE_SLOTS;
        evicted = cache_[slot];
        if (evicted && --evicted->refs > 0) evicted = NULL; /* its last user destroys it */
        cache_[slot] = e;
        e->refs++;
    }
    pthread_mutex_unlock(&cache_lock_);
    if (evicted) entry_destroy(evicted);
    if (use != e) entry_destroy(e);
    return use;
}

/* reorder primitive from -> to with a user scratchpad (none needed for plain <-> blocked
 * f32 reorders: anything else is refused so that no hidden shared buffer exists) */
static slm_status make_reorder(conv_arg *a, const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to,
                               dnnl_engine_t eng, const char *fn) {
    a->reorder = NULL;
    if (dnnl_memory_desc_equal(from, to)) return SLM_OK;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t pd = NULL;
    slm_status st = slm_dnnl_check(dnnl_primitive_attr_create(&attr), fn, "creating attributes");
    if (!st) st = slm_dnnl_check(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user), fn,
                                 "setting the scratchpad mode");
    if (!st) st = slm_dnnl_check(dnnl_reorder_primitive_desc_create(&pd, from, eng, to, eng, attr), fn,
                                 "creating a reorder");
    if (!st && dnnl_memory_desc_get_size(dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0)) != 0)
        st = slm_error(SLM_ERR_BACKEND, fn, "oneDNN reorder asks for a scratchpad");
    if (!st) st = slm_dnnl_check(dnnl_primitive_create(&a->reorder, pd), fn, "creating a reorder");
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (attr) dnnl_primitive_attr_destroy(attr);
    a->bytes = dnnl_memory_desc_get_size(&a->prim);
    return st;
}

/* create the primitive and its reorders for key */
static slm_status entry_create(conv_entry **out, const conv_key *k, const char *fn) {
    *out = NULL;
    dnnl_engine_t eng = slm_dnnl_engine(fn);
    if (!eng) return slm_last_status();
    conv_entry *e = (conv_entry *)slm_alloc(sizeof *e);
    if (!e) return slm_error(SLM_ERR_NOMEM, fn, "cannot allocate a primitive cache entry");
    memset(e, 0, sizeof *e);
    e->key = *k;
    e->refs = 1;
    const int64_t G = k->groups;
    dnnl_dims_t src_d = {k->N, k->Cin, k->L}, dst_d = {k->N, k->Cout, k->Lout}, bias_d = {k->Cout};
    dnnl_dims_t strides = {k->stride}, dil = {k->dilation - 1}, pl = {k->pad_l}, pr = {k->pad_r};
    dnnl_dims_t wei_d;
    int wei_nd;
    dnnl_format_tag_t wei_tag;
    if (k->kind == KIND_CONV) {
        /* torch (Cout, Cin/G, K) = (G, Og, Cg, K) = goiw / oiw */
        wei_nd = G > 1 ? 4 : 3;
        wei_tag = G > 1 ? dnnl_goiw : dnnl_oiw;
        if (G > 1) {
            wei_d[0] = G, wei_d[1] = k->Cout / G, wei_d[2] = k->Cin / G, wei_d[3] = k->K;
        } else {
            wei_d[0] = k->Cout, wei_d[1] = k->Cin, wei_d[2] = k->K;
        }
    } else {
        /* torch (Cin, Cout/G, K) = (G, Cg, Og, K) in memory, logical (G, Og, Cg, K): giow / iow */
        wei_nd = G > 1 ? 4 : 3;
        wei_tag = G > 1 ? dnnl_acbd : dnnl_bac;
        if (G > 1) {
            wei_d[0] = G, wei_d[1] = k->Cout / G, wei_d[2] = k->Cin / G, wei_d[3] = k->K;
        } else {
            wei_d[0] = k->Cout, wei_d[1] = k->Cin, wei_d[2] = k->K;
        }
    }
    dnnl_memory_desc_t any_src, any_wei, any_dst;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t pd = NULL;
    slm_status st = SLM_OK;
#define TRY_DNNL(call, what)                                                              \
    do {                                                                                  \
        if (!st) st = slm_dnnl_check((call), fn, what);                                   \
    } while (0)
    TRY_DNNL(dnnl_memory_desc_init_by_tag(&e->src.user, 3, src_d, dnnl_f32, dnnl_ncw), "input descriptor");
    TRY_DNNL(dnnl_memory_desc_init_by_tag(&e->dst.user, 3, dst_d, dnnl_f32, dnnl_ncw), "output descriptor");
    TRY_DNNL(dnnl_memory_desc_init_by_tag(&e->wei.user, wei_nd, wei_d, dnnl_f32, wei_tag), "weight descriptor");
    TRY_DNNL(dnnl_memory_desc_init_by_tag(&e->bias_md, 1, bias_d, dnnl_f32, dnnl_x), "bias descriptor");
    /* input and output stay plain (ncw): with "any", oneDNN 2.6 picks blocked nCw8c on
     * AVX2, and the two reorders around it cost more than they save (2-6x slower on
     * EnCodec's 16-64 channel convs, no faster on 512 channels); weights may block */
    TRY_DNNL(dnnl_memory_desc_init_by_tag(&any_src, 3, src_d, dnnl_f32, dnnl_ncw), "input descriptor");
    TRY_DNNL(dnnl_memory_desc_init_by_tag(&any_dst, 3, dst_d, dnnl_f32, dnnl_ncw), "output descriptor");
    TRY_DNNL(dnnl_memory_desc_init_by_tag(&any_wei, wei_nd, wei_d, dnnl_f32, dnnl_format_tag_any),
             "weight descriptor");
    TRY_DNNL(dnnl_primitive_attr_create(&attr), "creating attributes");
    TRY_DNNL(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user), "scratchpad mode");
    const dnnl_memory_desc_t *bias = k->has_bias ? &e->bias_md : NULL;
    if (!st && k->kind == KIND_CONV) {
        dnnl_convolution_desc_t cd;
        TRY_DNNL(dnnl_dilated_convolution_forward_desc_init(&cd, dnnl_forward_inference, dnnl_convolution_direct,
                                                            &any_src, &any_wei, bias, &any_dst, strides, dil,
                                                            pl, pr),
                 "convolution descriptor");
        TRY_DNNL(dnnl_primitive_desc_create(&pd, &cd, attr, eng, NULL), "convolution primitive descriptor");
    } else if (!st) {
        dnnl_deconvolution_desc_t dd;
        TRY_DNNL(dnnl_dilated_deconvolution_forward_desc_init(&dd, dnnl_forward_inference,
                                                              dnnl_deconvolution_direct, &any_src, &any_wei,
                                                              bias, &any_dst, strides, dil, pl, pr),
                 "deconvolution descriptor");
        TRY_DNNL(dnnl_primitive_desc_create(&pd, &dd, attr, eng, NULL), "deconvolution primitive descriptor");
    }
    if (!st) {
        e->src.prim = *dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
        e->wei.prim = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
        e->dst.prim = *dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
        e->scratch_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
        e->scratch_bytes = dnnl_memory_desc_get_size(&e->scratch_md);
        TRY_DNNL(dnnl_primitive_create(&e->prim, pd), "creating the primitive");
    }
    if (!st) st = make_reorder(&e->src, &e->src.user, &e->src.prim, eng, fn);
    if (!st) st = make_reorder(&e->wei, &e->wei.user, &e->wei.prim, eng, fn);
    if (!st) st = make_reorder(&e->dst, &e->dst.prim, &e->dst.user, eng, fn);
#undef TRY_DNNL
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (st) {
        entry_destroy(e);
        return st;
    }
    *out = e;
    return SLM_OK;
}

/* one memory object over ptr with descriptor md, collected in mems for cleanup */
static slm_status wrap(dnnl_memory_t *mems, int *n_mems, dnnl_memory_t *m, const dnnl_memory_desc_t *md,
                       void *ptr, dnnl_engine_t eng, const char *fn) {
    slm_status st = slm_dnnl_check(dnnl_memory_create(m, md, eng, ptr), fn, "wrapping a buffer");
    if (!st) mems[(*n_mems)++] = *m;
    return st;
}

static slm_status run(const conv_key *key, float *out, const float *inp, const float *w, const float *b,
                      const char *fn) {
    if (slm_interrupted()) return SLM_INTERRUPTED_ERROR(fn);
    slm_threads_sync_omp(); /* before creating a primitive too: it sizes itself for it */
    conv_entry *e = cache_find(key);
    if (!e) {
        SLM_TRY(entry_create(&e, key, fn));
        e = cache_insert(e);
    }
    dnnl_engine_t eng = slm_dnnl_engine(fn);
    slm_arena arena = {0};
    dnnl_stream_t stream = NULL;
    dnnl_memory_t mems[10];
    int n_mems = 0;
    slm_status st = eng ? SLM_OK : slm_last_status();
    size_t need = slm_arena_need(e->scratch_bytes);
    if (e->src.reorder) need += slm_arena_need(e->src.bytes);
    if (e->wei.reorder) need += slm_arena_need(e->wei.bytes);
    if (e->dst.reorder) need += slm_arena_need(e->dst.bytes);
    if (!st) st = slm_arena_init(&arena, need, fn);
    if (!st) st = slm_dnnl_check(dnnl_stream_create(&stream, eng, dnnl_stream_default_flags), fn, "creating a stream");
    dnnl_memory_t src_u = NULL, wei_u = NULL, dst_u = NULL, src_p = NULL, wei_p = NULL, dst_p = NULL;
    dnnl_memory_t bias_m = NULL, scratch_m = NULL;
    if (!st) st = wrap(mems, &n_mems, &src_u, &e->src.user, (void *)inp, eng, fn);
    if (!st) st = wrap(mems, &n_mems, &wei_u, &e->wei.user, (void *)w, eng, fn);
    if (!st) st = wrap(mems, &n_mems, &dst_u, &e->dst.user, out, eng, fn);
    if (!st && key->has_bias) st = wrap(mems, &n_mems, &bias_m, &e->bias_md, (void *)b, eng, fn);
    if (!st && e->scratch_bytes)
        st = wrap(mems, &n_mems, &scratch_m, &e->scratch_md, slm_arena_take(&arena, e->scratch_bytes), eng, fn);
    src_p = src_u, wei_p = wei_u, dst_p = dst_u;
    if (!st && e->src.reorder)
        st = wrap(mems, &n_mems, &src_p, &e->src.prim, slm_arena_take(&arena, e->src.bytes), eng, fn);
    if (!st && e->wei.reorder)
        st = wrap(mems, &n_mems, &wei_p, &e->wei.prim, slm_arena_take(&arena, e->wei.bytes), eng, fn);
    if (!st && e->dst.reorder)
        st = wrap(mems, &n_mems, &dst_p, &e->dst.prim, slm_arena_take(&arena, e->dst.bytes), eng, fn);

    if (!st && e->src.reorder) {
        dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, src_u}, {DNNL_ARG_TO, src_p}};
        st = slm_dnnl_check(dnnl_primitive_execute(e->src.reorder, stream, 2, a), fn, "reordering the input");
    }
    if (!st && e->wei.reorder) {
        dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, wei_u}, {DNNL_ARG_TO, wei_p}};
        st = slm_dnnl_check(dnnl_primitive_execute(e->wei.reorder, stream, 2, a), fn, "reordering the weights");
    }
    if (!st) {
        dnnl_exec_arg_t a[5] = {{DNNL_ARG_SRC, src_p}, {DNNL_ARG_WEIGHTS, wei_p}, {DNNL_ARG_DST, dst_p}};
        int na = 3;
        if (bias_m) a[na++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, bias_m};
        if (scratch_m) a[na++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, scratch_m};
        st = slm_dnnl_check(dnnl_primitive_execute(e->prim, stream, na, a), fn, "running the primitive");
    }
    if (!st && e->dst.reorder) {
        dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, dst_p}, {DNNL_ARG_TO, dst_u}};
        st = slm_dnnl_check(dnnl_primitive_execute(e->dst.reorder, stream, 2, a), fn, "reordering the output");
    }
    if (!st) st = slm_dnnl_check(dnnl_stream_wait(stream), fn, "waiting for the stream");
    for (int i = 0; i < n_mems; i++) dnnl_memory_destroy(mems[i]);
    if (stream) dnnl_stream_destroy(stream);
    slm_arena_release(&arena);
    entry_release(e);
    if (!st && slm_interrupted()) return SLM_INTERRUPTED_ERROR(fn);
    return st;
}

slm_status slm_conv1d_dnnl(float *out, const float *inp, const float *w, const float *b,
                           const slm_conv1d_geom *g) {
    conv_key k;
    memset(&k, 0, sizeof k);
    k.kind = KIND_CONV, k.has_bias = b != NULL, k.N = g->N, k.Cin = g->Cin, k.L = g->L, k.Cout = g->Cout;
    k.K = g->K, k.Lout = g->Lout, k.stride = g->stride, k.pad_l = g->pad_left, k.pad_r = g->pad_right;
    k.dilation = g->dilation, k.groups = g->groups, k.threads = slm_threads();
    return run(&k, out, inp, w, b, "conv1d");
}

slm_status slm_conv_transpose1d_dnnl(float *out, const float *inp, const float *w, const float *b,
                                     const slm_convt1d_geom *g) {
    conv_key k;
    memset(&k, 0, sizeof k);
    k.kind = KIND_DECONV, k.has_bias = b != NULL, k.N = g->N, k.Cin = g->Cin, k.L = g->L, k.Cout = g->Cout;
    k.K = g->K, k.Lout = g->Lout, k.stride = g->stride, k.pad_l = g->padding;
    k.pad_r = g->padding - g->output_padding;
    k.dilation = g->dilation, k.groups = g->groups, k.threads = slm_threads();
    return run(&k, out, inp, w, b, "conv_transpose1d");
}

#else /* no oneDNN in this build: never dispatched here, present for the linker */

slm_status slm_conv1d_dnnl(float *out, const float *inp, const float *w, const float *b,
                           const slm_conv1d_geom *g) {
    return slm_error(SLM_ERR_BACKEND, "conv1d", "this build has no oneDNN");
}

slm_status slm_conv_transpose1d_dnnl(float *out, const float *inp, const float *w, const float *b,
                                     const slm_convt1d_geom *g) {
    return slm_error(SLM_ERR_BACKEND, "conv_transpose1d", "this build has no oneDNN");
}

#endif
