/* probe.c: measure this machine's limits for the benchmark: the fp32 FMA peak and the
 * read bandwidth, with the widest vectors the CPU runs. The benchmark reports every
 * kernel as a share of these, so figures mean the same on any machine. */
#include "simd.h"

/* iters x 12 independent FMA chains, each VW wide: 2 * VW * 12 * iters flop. Twelve
 * chains hide the FMA latency (4-5 cycles) on two pipes. Returns a value that depends on
 * every chain so the compiler cannot drop the loop. */
float SLM_SIMD_FN(slm_probe_fma)(int64_t iters) {
    vf a0 = vset1(1.0f), a1 = vset1(1.1f), a2 = vset1(1.2f), a3 = vset1(1.3f);
    vf a4 = vset1(1.4f), a5 = vset1(1.5f), a6 = vset1(1.6f), a7 = vset1(1.7f);
    vf a8 = vset1(1.8f), a9 = vset1(1.9f), a10 = vset1(2.0f), a11 = vset1(2.1f);
    const vf m = vset1(0.999999f), c = vset1(1e-7f);
    for (int64_t i = 0; i < iters; i++) {
        a0 = vfmadd(a0, m, c); a1 = vfmadd(a1, m, c); a2 = vfmadd(a2, m, c);
        a3 = vfmadd(a3, m, c); a4 = vfmadd(a4, m, c); a5 = vfmadd(a5, m, c);
        a6 = vfmadd(a6, m, c); a7 = vfmadd(a7, m, c); a8 = vfmadd(a8, m, c);
        a9 = vfmadd(a9, m, c); a10 = vfmadd(a10, m, c); a11 = vfmadd(a11, m, c);
    }
    vf s = vadd(vadd(vadd(a0, a1), vadd(a2, a3)), vadd(vadd(a4, a5), vadd(a6, a7)));
    s = vadd(s, vadd(vadd(a8, a9), vadd(a10, a11)));
    return vreduce_add(s);
}

/* sum of n floats read as four streams side by side (four distant parts of the buffer
 * at once): one core reaches more of the memory bandwidth with several streams in
 * flight, as fast GEMV kernels do (one sequential stream reads ~30% less here) */
float SLM_SIMD_FN(slm_probe_read)(const float *x, int64_t n) {
    vf s0 = vzero(), s1 = vzero(), s2 = vzero(), s3 = vzero();
    vf s4 = vzero(), s5 = vzero(), s6 = vzero(), s7 = vzero();
    int64_t q = (n / 4) / (2 * VW) * (2 * VW);
    const float *a = x, *b = x + q, *c = x + 2 * q, *d = x + 3 * q;
    for (int64_t i = 0; i < q; i += 2 * VW) {
        s0 = vadd(s0, vload(a + i));
        s1 = vadd(s1, vload(a + i + VW));
        s2 = vadd(s2, vload(b + i));
        s3 = vadd(s3, vload(b + i + VW));
        s4 = vadd(s4, vload(c + i));
        s5 = vadd(s5, vload(c + i + VW));
        s6 = vadd(s6, vload(d + i));
        s7 = vadd(s7, vload(d + i + VW));
    }
    vf s = vadd(vadd(vadd(s0, s1), vadd(s2, s3)), vadd(vadd(s4, s5), vadd(s6, s7)));
    float r = vreduce_add(s);
    for (int64_t i = 4 * q; i < n; i++) r += x[i];
    return r;
}
