/* act_rope.c: rotary position embedding on AVX2 / AVX-512 (one source, see simd.h).
 *
 * A table of cos/sin per position is built once per call (vsincos of the float angle,
 * see ops_norm_act.h for the HF float32 recipe), then each (position, head) row is
 * rotated. Half layout: contiguous halves x1 = x[i], x2 = x[i + R/2]. Interleaved
 * layout: out = x * cos + swap_pairs(x) * (-sin, +sin), with the table stored in that
 * form, so no deinterleaving is needed.
 */
#include "simd.h"
#include "vmath.h"
#include "../norm_act.h"

static const float alt_sign_[16] = {-1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1};

void SLM_SIMD_FN(slm_na_rope_table)(float *tab, float p, const float *inv, int64_t R,
                                    int interleaved) {
    int64_t n = interleaved ? R : R / 2; /* angles to compute */
    float *ct = tab, *st = tab + n;
    const vf vp = vset1(p), sg = vload(alt_sign_);
    for (int64_t i = 0; i < n; i += VW) {
        int cnt = n - i < VW ? (int)(n - i) : VW;
        vf s, c;
        vsincos(vmul(vp, cnt == VW ? vload(inv + i) : vload_n(inv + i, cnt)), &s, &c);
        if (interleaved) s = vmul(s, sg); /* i and VW are even: lane parity = pair slot */
        if (cnt == VW) {
            vstore(ct + i, c);
            vstore(st + i, s);
        } else {
            vstore_n(ct + i, c, cnt);
            vstore_n(st + i, s, cnt);
        }
    }
}

void SLM_SIMD_FN(slm_na_rope_row)(float *out, const float *x, const float *tab, int64_t D,
                                  int64_t R, int interleaved) {
    if (interleaved) {
        const float *ct = tab, *st = tab + R;
        for (int64_t i = 0; i < R; i += VW) {
            int cnt = R - i < VW ? (int)(R - i) : VW; /* even: pairs never split */
            vf v = cnt == VW ? vload(x + i) : vload_n(x + i, cnt);
            vf c = cnt == VW ? vload(ct + i) : vload_n(ct + i, cnt);
            vf s = cnt == VW ? vload(st + i) : vload_n(st + i, cnt);
            vf o = vfmadd(vswap_pairs(v), s, vmul(v, c));
            if (cnt == VW) vstore(out + i, o);
            else vstore_n(out + i, o, cnt);
        }
    } else {
        const int64_t h = R / 2;
        const float *ct = tab, *st = tab + h;
        for (int64_t i = 0; i < h; i += VW) {
            int cnt = h - i < VW ? (int)(h - i) : VW;
            vf x1, x2, c, s;
            if (cnt == VW) {
                x1 = vload(x + i), x2 = vload(x + h + i), c = vload(ct + i), s = vload(st + i);
            } else {
                x1 = vload_n(x + i, cnt), x2 = vload_n(x + h + i, cnt);
                c = vload_n(ct + i, cnt), s = vload_n(st + i, cnt);
            }
            vf o1 = vfnmadd(x2, s, vmul(x1, c)), o2 = vfmadd(x1, s, vmul(x2, c));
            if (cnt == VW) {
                vstore(out + i, o1);
                vstore(out + h + i, o2);
            } else {
                vstore_n(out + i, o1, cnt);
                vstore_n(out + h + i, o2, cnt);
            }
        }
    }
    if (out != x)
        for (int64_t i = R; i < D; i++) out[i] = x[i];
}
