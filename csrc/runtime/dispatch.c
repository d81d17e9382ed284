/* dispatch.c: CPU feature detection and the choice of kernel path per op family.
 *
 * One build carries every path; which one runs is decided at run time from cpuid and
 * from the OS (xgetbv: are the ymm/zmm registers saved on context switch?), so the
 * same binary runs on machines with and without AVX-512. SLM_BACKEND (read once) or
 * slm_set_path() forces a path for testing and comparison.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "runtime.h"

/* ---- CPU ---- */
static slm_cpu_info cpu_;
static int cpu_done_ = 0;
static char cpu_str_[256];

#if defined(__x86_64__) || defined(__i386__)
static uint64_t xgetbv0(void) {
    uint32_t eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((uint64_t)edx << 32) | eax;
}
#endif

static void detect_cpu(void) {
    memset(&cpu_, 0, sizeof cpu_);
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d;
    if (__get_cpuid(1, &a, &b, &c, &d)) {
        bool osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
        cpu_.fma = (c >> 12) & 1;
        cpu_.f16c = (c >> 29) & 1;
        if (osxsave && avx) {
            uint64_t xcr0 = xgetbv0();
            cpu_.os_avx = (xcr0 & 0x6) == 0x6;              /* xmm + ymm state */
            cpu_.os_avx512 = cpu_.os_avx && (xcr0 & 0xe0) == 0xe0; /* opmask, zmm hi */
        }
    }
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
        cpu_.avx2 = (b >> 5) & 1;
        cpu_.avx512f = (b >> 16) & 1;
        cpu_.avx512dq = (b >> 17) & 1;
        cpu_.avx512bw = (b >> 30) & 1;
        cpu_.avx512vl = (b >> 31) & 1;
        cpu_.avx512_vnni = (c >> 11) & 1;
    }
    if (__get_cpuid_count(7, 1, &a, &b, &c, &d)) cpu_.avx512_bf16 = (a >> 5) & 1;
#endif
    cpu_str_[0] = '\0';
#define ADD(flag, name)                                                                   \
    if (cpu_.flag) {                                                                      \
        strncat(cpu_str_, cpu_str_[0] ? " " name : name, sizeof cpu_str_ - strlen(cpu_str_) - 1); \
    }
    ADD(fma, "fma") ADD(f16c, "f16c") ADD(avx2, "avx2") ADD(avx512f, "avx512f")
    ADD(avx512dq, "avx512dq") ADD(avx512bw, "avx512bw") ADD(avx512vl, "avx512vl")
    ADD(avx512_vnni, "avx512_vnni") ADD(avx512_bf16, "avx512_bf16")
    ADD(os_avx, "os_ymm") ADD(os_avx512, "os_zmm")
#undef ADD
}

const slm_cpu_info *slm_cpu(void) {
    if (!__atomic_load_n(&cpu_done_, __ATOMIC_ACQUIRE)) {
        detect_cpu();
        __atomic_store_n(&cpu_done_, 1, __ATOMIC_RELEASE);
    }
    return &cpu_;
}

const char *slm_cpu_features(void) {
    slm_cpu();
    return cpu_str_;
}

/* ---- paths ---- */
static const char *const path_names_[SLM_PATH_COUNT_] = {"ref", "avx2", "avx512", "dnnl", "auto"};
static const char *const family_names_[SLM_FAMILY_COUNT_] = {
    "gemm", "conv", "norm", "act", "attn", "rnn", "vq", "embed", "dsp"};

const char *slm_path_name(slm_path p) {
    return (p >= 0 && p < SLM_PATH_COUNT_) ? path_names_[p] : NULL;
}

const char *slm_family_name(slm_family f) {
    return (f >= 0 && f < SLM_FAMILY_COUNT_) ? family_names_[f] : NULL;
}

slm_status slm_path_parse(const char *name, slm_path *out) {
    if (name) {
        for (int i = 0; i < SLM_PATH_COUNT_; i++)
            if (strcmp(name, path_names_[i]) == 0) {
                *out = (slm_path)i;
                return SLM_OK;
            }
    }
    return slm_error(SLM_ERR_VALUE, "slm_path_parse",
                     "unknown backend '%s'; choose from [ref, avx2, avx512, dnnl, auto]",
                     name ? name : "(null)");
}

bool slm_build_has_path(slm_path p) {
    switch (p) {
    case SLM_PATH_REF: return true;
#ifdef SLM_BUILD_AVX2
    case SLM_PATH_AVX2: return true;
#endif
#ifdef SLM_BUILD_AVX512
    case SLM_PATH_AVX512: return true;
#endif
    case SLM_PATH_DNNL: return slm_have_dnnl() != 0;
    default: return false;
    }
}

int slm_path_available(slm_path p) {
    const slm_cpu_info *c = slm_cpu();
    if (!slm_build_has_path(p)) return 0;
    switch (p) {
    case SLM_PATH_REF: return 1;
    case SLM_PATH_AVX2: return c->avx2 && c->fma && c->os_avx;
    case SLM_PATH_AVX512:
        return c->avx512f && c->avx512bw && c->avx512dq && c->avx512vl && c->os_avx512;
    case SLM_PATH_DNNL: return 1; /* oneDNN picks its own ISA at run time */
    default: return 0;
    }
}

/* Which families have which paths. Keep in step with the kernels (tests check every
 * (family, path) pair listed here against torch). */
static const unsigned char implements_[SLM_FAMILY_COUNT_][4] = {
    /*              ref avx2 avx512 dnnl */
    /* gemm  */ {1, 1, 1, 1},
    /* conv  */ {1, 1, 1, 1},
    /* norm  */ {1, 1, 1, 0},
    /* act   */ {1, 1, 1, 0},
    /* attn  */ {1, 1, 1, 0},
    /* rnn   */ {1, 1, 1, 0},
    /* vq    */ {1, 1, 1, 0},
    /* embed */ {1, 0, 0, 0},
    /* dsp   */ {1, 1, 1, 0},
};

int slm_family_implements(slm_family f, slm_path p) {
    if (f < 0 || f >= SLM_FAMILY_COUNT_ || p < 0 || p > SLM_PATH_DNNL) return 0;
    return implements_[f][p];
}

/* Default preference per family when nothing is forced (fastest first, as measured
 * by `python -m slm.bench kernels`; see docs/benchmarks.md). */
static const slm_path auto_order_[SLM_FAMILY_COUNT_][4] = {
    /* gemm  */ {SLM_PATH_AVX512, SLM_PATH_AVX2, SLM_PATH_DNNL, SLM_PATH_REF},
    /* conv  */ {SLM_PATH_AVX512, SLM_PATH_AVX2, SLM_PATH_DNNL, SLM_PATH_REF},
    /* norm  */ {SLM_PATH_AVX512, SLM_PATH_AVX2, SLM_PATH_REF, SLM_PATH_REF},
    /* act   */ {SLM_PATH_AVX512, SLM_PATH_AVX2, SLM_PATH_REF, SLM_PATH_REF},
    /* attn  */ {SLM_PATH_AVX512, SLM_PATH_AVX2, SLM_PATH_REF, SLM_PATH_REF},
    /* rnn   */ {SLM_PATH_AVX512, SLM_PATH_AVX2, SLM_PATH_REF, SLM_PATH_REF},
    /* vq    */ {SLM_PATH_AVX512, SLM_PATH_AVX2, SLM_PATH_REF, SLM_PATH_REF},
    /* embed */ {SLM_PATH_REF, SLM_PATH_REF, SLM_PATH_REF, SLM_PATH_REF},
    /* dsp   */ {SLM_PATH_AVX512, SLM_PATH_AVX2, SLM_PATH_REF, SLM_PATH_REF},
};

static int forced_ = -1; /* -1: not initialised from the environment yet */
static slm_path resolved_[SLM_FAMILY_COUNT_];
static int env_error_ = 0;
static char env_msg_[512];

static slm_path resolve(slm_family f, slm_path forced) {
    if (forced == SLM_PATH_AUTO) {
        for (int i = 0; i < 4; i++) {
            slm_path p = auto_order_[f][i];
            if (slm_family_implements(f, p) && slm_path_available(p)) return p;
        }
        return SLM_PATH_REF;
    }
    /* forced: the path itself, else the best SIMD path below it */
    static const slm_path below_dnnl[] = {SLM_PATH_DNNL, SLM_PATH_AVX512, SLM_PATH_AVX2, SLM_PATH_REF};
    const slm_path *order = below_dnnl;
    int n = 4;
    if (forced == SLM_PATH_AVX512) order = below_dnnl + 1, n = 3;
    if (forced == SLM_PATH_AVX2) order = below_dnnl + 2, n = 2;
    if (forced == SLM_PATH_REF) order = below_dnnl + 3, n = 1;
    for (int i = 0; i < n; i++)
        if (slm_family_implements(f, order[i]) && slm_path_available(order[i])) return order[i];
    return SLM_PATH_REF;
}

static void apply(slm_path p) {
    for (int f = 0; f < SLM_FAMILY_COUNT_; f++) resolved_[f] = resolve((slm_family)f, p);
    forced_ = (int)p;
}

static void init_from_env_once(void) {
    const char *env = getenv("SLM_BACKEND");
    slm_path p = SLM_PATH_AUTO;
    if (env && *env) {
        slm_path q = SLM_PATH_AUTO;
        if (slm_path_parse(env, &q) != SLM_OK) {
            env_error_ = 1;
            snprintf(env_msg_, sizeof env_msg_,
                     "SLM_BACKEND='%.40s' is not a backend; choose from [ref, avx2, avx512, dnnl, auto]", env);
        } else if (q != SLM_PATH_AUTO && !slm_path_available(q)) {
            env_error_ = 1;
            snprintf(env_msg_, sizeof env_msg_,
                     "SLM_BACKEND='%.40s' cannot run here (%s; cpu: %s); unset it or choose another", env,
                     slm_build_has_path(q) ? "this CPU or OS lacks the instructions" : "not in this build",
                     slm_cpu_features());
        } else {
            p = q;
        }
    }
    slm_clear_error();
    apply(p);
}

static pthread_once_t env_once_ = PTHREAD_ONCE_INIT;
static void init_from_env(void) { pthread_once(&env_once_, init_from_env_once); }

/* SLM_ERR_BACKEND if SLM_BACKEND named a path that cannot run (checked at import) */
slm_status slm_backend_env_status(void) {
    init_from_env();
    if (env_error_) return slm_error(SLM_ERR_BACKEND, "slm_backend_env_status", "%s", env_msg_);
    return SLM_OK;
}

slm_status slm_set_path(slm_path p) {
    init_from_env();
    if (p < 0 || p >= SLM_PATH_COUNT_)
        return slm_error(SLM_ERR_VALUE, "slm_set_path", "unknown path %d", (int)p);
    if (p != SLM_PATH_AUTO && !slm_path_available(p))
        return slm_error(SLM_ERR_BACKEND, "slm_set_path",
                         "backend '%s' cannot run here (%s; cpu: %s)", slm_path_name(p),
                         slm_build_has_path(p) ? "this CPU or OS lacks the instructions"
                                               : "not in this build",
                         slm_cpu_features());
    apply(p);
    return SLM_OK;
}

slm_path slm_get_path(void) {
    init_from_env();
    return (slm_path)forced_;
}

slm_path slm_family_path(slm_family f) {
    init_from_env();
    if (f < 0 || f >= SLM_FAMILY_COUNT_) return SLM_PATH_REF;
    return resolved_[f];
}
