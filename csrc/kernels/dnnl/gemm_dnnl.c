/* gemm_dnnl.c: the dnnl path of the GEMM family, a oneDNN matmul primitive.
 *
 * Creating a primitive costs far more than a small product (descriptor checks, JIT
 * code generation), so primitives are kept in a small cache keyed by everything that
 * is baked into them: sizes, batch and its strides, transposes and leading dimensions,
 * bias presence, alpha and beta. Entries are reference-counted while a call executes
 * them; the least recently used idle entry is replaced when the cache is full.
 *
 * Thread safety: primitives are created with a user-managed scratchpad, which each call
 * allocates for itself, so one cached primitive may run from several threads at once
 * (oneDNN's library-managed scratchpad ties a primitive to the thread that created it).
 * Each call uses its own stream; slm_threads_sync_omp() first makes oneDNN's OpenMP
 * team follow slm_set_num_threads.
 */
#include "dnnl_common.h"
#include "../gemm.h"

#ifdef SLM_HAVE_DNNL
#include <pthread.h>
#include <string.h>

typedef struct {
    int64_t M, N, K, batch, sa, sb, sc, lda, ldb, ldc;
    int trans_a, trans_b, bias;
    float alpha, beta;
} gemm_key;

typedef struct {
    gemm_key key;
    dnnl_primitive_t prim;
    size_t scratch_bytes;
    int refs;          /* calls executing it now */
    uint64_t last_use; /* for LRU */
    int used;
} cache_entry;

#define CACHE_SIZE 64
static cache_entry cache_[CACHE_SIZE];
static uint64_t clock_ = 0;
static pthread_mutex_t cache_lock_ = PTHREAD_MUTEX_INITIALIZER;

static int key_eq(const gemm_key *a, const gemm_key *b) { return memcmp(a, b, sizeof *a) == 0; }

/* memory descriptor of a (rows, cols) matrix, batched when batch > 1 (a batch stride
 * of 0 becomes a batch dimension of 1, which oneDNN broadcasts). Size-1 dimensions
 * get the natural stride so that no stride is meaningless. */
static dnnl_status_t matrix_md(dnnl_memory_desc_t *md, int64_t batch, int64_t bstride, int64_t rows,
                               int64_t cols, int64_t rstride, int64_t cstride) {
    if (rows == 1) rstride = cols * cstride > 0 ? cols * cstride : 1;
    if (cols == 1) cstride = 1;
    if (batch <= 1) {
        dnnl_dims_t dims = {rows, cols}, strides = {rstride, cstride};
        return dnnl_memory_desc_init_by_strides(md, 2, dims, dnnl_f32, strides);
    }
    int64_t bdim = bstride == 0 ? 1 : batch;
    if (bdim == 1) bstride = rows * cols;
    dnnl_dims_t dims = {bdim, rows, cols}, strides = {bstride, rstride, cstride};
    return dnnl_memory_desc_init_by_strides(md, 3, dims, dnnl_f32, strides);
}

static slm_status create_primitive(const gemm_key *k, dnnl_primitive_t *prim, size_t *scratch, const char *fn) {
    *prim = NULL;
    dnnl_engine_t eng = slm_dnnl_engine(fn);
    if (!eng) return slm_last_status();
    dnnl_memory_desc_t a_md, b_md, c_md, bias_md;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_matmul_desc_t desc;
    slm_status st;
    /* op(A) (M, K): stored (M, K) -> strides (lda, 1); stored (K, M) -> (1, lda) */
    st = slm_dnnl_check(matrix_md(&a_md, k->batch, k->sa, k->M, k->K, k->trans_a ? 1 : k->lda,
                                  k->trans_a ? k->lda : 1), fn, "A descriptor");
    if (!st) st = slm_dnnl_check(matrix_md(&b_md, k->batch, k->sb, k->K, k->N, k->trans_b ? 1 : k->ldb,
                                           k->trans_b ? k->ldb : 1), fn, "B descriptor");
    if (!st) st = slm_dnnl_check(matrix_md(&c_md, k->batch, k->sc, k->M, k->N, k->ldc, 1), fn, "C descriptor");
    if (!st && k->bias) {
        if (k->batch > 1) {
            dnnl_dims_t dims = {1, 1, k->N};
            st = slm_dnnl_check(dnnl_memory_desc_init_by_tag(&bias_md, 3, dims, dnnl_f32, dnnl_abc), fn, "bias descriptor");
        } else {
            dnnl_dims_t dims = {1, k->N};
            st = slm_dnnl_check(dnnl_memory_desc_init_by_tag(&bias_md, 2, dims, dnnl_f32, dnnl_ab), fn, "bias descriptor");
        }
    }
    if (!st) st = slm_dnnl_check(dnnl_matmul_desc_init(&desc, &a_md, &b_md, k->bias ? &bias_md : NULL, &c_md), fn,
                                 "matmul descriptor");
    if (!st) st = slm_dnnl_check(dnnl_primitive_attr_create(&attr), fn, "attributes");
    if (!st) st = slm_dnnl_check(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user), fn,
                                 "scratchpad mode");
    if (!st && k->alpha != 1.0f)
        st = slm_dnnl_check(dnnl_primitive_attr_set_output_scales(attr, 1, 0, &k->alpha), fn, "alpha");
    if (!st && k->beta != 0.0f) {
        /* C = alpha*AB + beta*C_old: a sum post-op reads C, so only when beta != 0 */
        st = slm_dnnl_check(dnnl_post_ops_create(&po), fn, "post-ops");
        if (!st) st = slm_dnnl_check(dnnl_post_ops_append_sum(po, k->beta), fn, "beta");
        if (!st) st = slm_dnnl_check(dnnl_primitive_attr_set_post_ops(attr, po), fn, "post-ops");
    }
    if (!st) st = slm_dnnl_check(dnnl_primitive_desc_create(&pd, &desc, attr, eng, NULL), fn, "matmul primitive descriptor");
    if (!st) {
        const dnnl_memory_desc_t *smd = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
        *scratch = smd ? dnnl_memory_desc_get_size(smd) : 0;
        st = slm_dnnl_check(dnnl_primitive_create(prim, pd), fn, "matmul primitive");
    }
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (po) dnnl_post_ops_destroy(po);
    if (attr) dnnl_primitive_attr_destroy(attr);
    return st;
}

/* a primitive for key, from the cache or new; *slot is the cache entry (its refs taken)
 * or -1 for an uncached primitive the caller destroys */
static slm_status get_primitive(const gemm_key *key, dnnl_primitive_t *prim, size_t *scratch, int *slot,
                                const char *fn) {
    pthread_mutex_lock(&cache_lock_);
    for (int i = 0; i < CACHE_SIZE; i++)
        if (cache_[i].used && key_eq(&cache_[i].key, key)) {
            cache_[i].refs++;
            cache_[i].last_use = ++clock_;
            *prim = cache_[i].prim;
            *scratch = cache_[i].scratch_bytes;
            *slot = i;
            pthread_mutex_unlock(&cache_lock_);
            return SLM_OK;
        }
    pthread_mutex_unlock(&cache_lock_);

    /* create outside the lock (it can take milliseconds) */
    dnnl_primitive_t p;
    size_t sb = 0;
    SLM_TRY(create_primitive(key, &p, &sb, fn));

    pthread_mutex_lock(&cache_lock_);
    int victim = -1;
    for (int i = 0; i < CACHE_SIZE; i++) {
        if (cache_[i].used && key_eq(&cache_[i].key, key)) { /* another thread was faster */
            cache_[i].refs++;
            cache_[i].last_use = ++clock_;
            *prim = cache_[i].prim;
            *scratch = cache_[i].scratch_bytes;
            *slot = i;
            pthread_mutex_unlock(&cache_lock_);
            dnnl_primitive_destroy(p);
            return SLM_OK;
        }
        if (!cache_[i].used) {
            if (victim < 0 || cache_[victim].used) victim = i;
        } else if (cache_[i].refs == 0 && (victim < 0 || (cache_[victim].used && cache_[i].last_use < cache_[victim].last_use))) {
            victim = i;
        }
    }
    if (victim < 0) { /* every entry busy: use it uncached */
        pthread_mutex_unlock(&cache_lock_);
        *prim = p;
        *scratch = sb;
        *slot = -1;
        return SLM_OK;
    }
    if (cache_[victim].used) dnnl_primitive_destroy(cache_[victim].prim);
    cache_[victim] = (cache_entry){.key = *key, .prim = p, .scratch_bytes = sb, .refs = 1,
                                   .last_use = ++clock_, .used = 1};
    *prim = p;
    *scratch = sb;
    *slot = victim;
    pthread_mutex_unlock(&cache_lock_);
    return SLM_OK;
}

static void put_primitive(dnnl_primitive_t prim, int slot) {
    if (slot < 0) {
        dnnl_primitive_destroy(prim);
        return;
    }
    pthread_mutex_lock(&cache_lock_);
    cache_[slot].refs--;
    pthread_mutex_unlock(&cache_lock_);
}

slm_status slm_gemm_dnnl(const slm_gemm_args *g, int64_t batch, int64_t stride_a, int64_t stride_b,
                         int64_t stride_c, const char *fn) {
    if (g->B.f32 == NULL)
        return slm_error(SLM_ERR_INTERNAL, fn, "the dnnl path has no bf16-weight matmul (dispatch bug)");
    if (batch <= 1) batch = 1, stride_a = stride_b = stride_c = 0;
    gemm_key key;
    memset(&key, 0, sizeof key); /* padding bytes take part in memcmp */
    key.M = g->M, key.N = g->N, key.K = g->K, key.batch = batch;
    key.sa = stride_a, key.sb = stride_b, key.sc = stride_c;
    key.lda = g->lda, key.ldb = g->B.ld, key.ldc = g->ldc;
    key.trans_a = g->trans_a, key.trans_b = g->B.trans, key.bias = g->bias != NULL;
    key.alpha = g->alpha, key.beta = g->beta;

    dnnl_engine_t eng = slm_dnnl_engine(fn);
    if (!eng) return slm_last_status();
    dnnl_primitive_t prim;
    size_t sbytes;
    int slot;
    SLM_TRY(get_primitive(&key, &prim, &sbytes, &slot, fn));

    const_dnnl_primitive_desc_t pd = NULL;
    dnnl_memory_t mem[5] = {NULL, NULL, NULL, NULL, NULL};
    dnnl_stream_t stream = NULL;
    void *scratch = NULL;
    slm_status st = slm_dnnl_check(dnnl_primitive_get_primitive_desc(prim, &pd), fn, "primitive descriptor");
    static const int args_id[5] = {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST, DNNL_ARG_BIAS, DNNL_ARG_SCRATCHPAD};
    static const dnnl_query_t qs[5] = {dnnl_query_src_md, dnnl_query_weights_md, dnnl_query_dst_md,
                                        dnnl_query_weights_md, dnnl_query_scratchpad_md};
    void *handles[5] = {(void *)g->A, (void *)g->B.f32, g->C, (void *)g->bias, NULL};
    int nargs = 0;
    dnnl_exec_arg_t args[5];
    if (!st && sbytes) {
        scratch = slm_alloc(sbytes);
        if (!scratch) st = slm_error(SLM_ERR_NOMEM, fn, "cannot allocate %zu bytes of oneDNN scratchpad", sbytes);
        handles[4] = scratch;
    }
    for (int i = 0; i < 5 && !st; i++) {
        if (i == 3 && !g->bias) continue;
        if (i == 4 && !sbytes) continue;
        /* bias: the weights query index 1 is the bias descriptor */
        const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, qs[i], i == 3 ? 1 : 0);
        st = slm_dnnl_check(dnnl_memory_create(&mem[i], md, eng, handles[i]), fn, "memory object");
        if (!st) args[nargs++] = (dnnl_exec_arg_t){args_id[i], mem[i]};
    }
    if (!st) st = slm_dnnl_check(dnnl_stream_create(&stream, eng, dnnl_stream_default_flags), fn, "stream");
    if (!st) {
        slm_threads_sync_omp();
        st = slm_dnnl_check(dnnl_primitive_execute(prim, stream, nargs, args), fn, "matmul execution");
        if (!st) st = slm_dnnl_check(dnnl_stream_wait(stream), fn, "matmul execution");
    }
    if (stream) dnnl_stream_destroy(stream);
    for (int i = 0; i < 5; i++)
        if (mem[i]) dnnl_memory_destroy(mem[i]);
    slm_free(scratch);
    put_primitive(prim, slot);
    return st;
}

#else /* no oneDNN in this build */

slm_status slm_gemm_dnnl(const slm_gemm_args *g, int64_t batch, int64_t stride_a, int64_t stride_b,
                         int64_t stride_c, const char *fn) {
    return slm_error(SLM_ERR_BACKEND, fn, "this build has no oneDNN");
}

#endif
