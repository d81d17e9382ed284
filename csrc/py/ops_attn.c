/* ops_attn.c: glue for scaled_dot_product_attention (slm.ops); see glue.h for the pattern.
 *
 * slm/ops/_attn.py does torch's shape logic (batch broadcasting, grouped heads, mask
 * broadcasting) with NumPy views and calls _sdpa with 4-D operands whose strides say
 * where they broadcast, so that nothing L*S-sized is ever materialised here. This
 * function re-checks what the C kernel relies on and copies any operand that does not
 * fit (wrong dtype, unaligned, last dimension not contiguous). */
#include "glue.h"

#include <stdio.h>

#include "../runtime/runtime.h"

static const char sdpa_fn[] = "scaled_dot_product_attention";

/* obj -> new reference to a 4-D array of the given type number whose strides are
 * multiples of the item size and whose last dimension is contiguous; strides are
 * returned in elements. A float operand that does not qualify is converted by
 * slm_py_float_array (dtype check, C-contiguous copy). */
static PyArrayObject *strided_operand(PyObject *obj, const char *arg, int typenum, int64_t strides[4]) {
    PyArrayObject *a = NULL;
    if (PyArray_Check(obj) && PyArray_TYPE((PyArrayObject *)obj) == typenum &&
        PyArray_NDIM((PyArrayObject *)obj) == 4 && PyArray_ISALIGNED((PyArrayObject *)obj)) {
        a = (PyArrayObject *)obj;
        const npy_intp isz = PyArray_ITEMSIZE(a);
        int ok = 1;
        for (int d = 0; d < 4; d++) ok &= PyArray_STRIDE(a, d) % isz == 0;
        if (typenum == NPY_FLOAT32) ok &= PyArray_DIM(a, 3) <= 1 || PyArray_STRIDE(a, 3) == isz;
        if (ok) {
            Py_INCREF(a);
            for (int d = 0; d < 4; d++) strides[d] = (int64_t)(PyArray_STRIDE(a, d) / isz);
            return a;
        }
    }
    if (typenum != NPY_FLOAT32) {
        PyErr_Format(PyExc_TypeError, "%s: %s must be a 4-D aligned bool array here", sdpa_fn, arg);
        return NULL;
    }
    a = slm_py_float_array(obj, sdpa_fn, arg, 4, 4);
    if (!a) return NULL;
    for (int d = 0; d < 4; d++) strides[d] = (int64_t)(PyArray_STRIDE(a, d) / (npy_intp)sizeof(float));
    return a;
}

/* _sdpa(q (B, Hq, L, E), k (B, Hk, S, E), v (B, Hv, S, Ev), mask (B, Hq, L, S) or None,
 *       is_causal, scale) -> out (B, Hq, L, Ev); mask is bool or float32 */
static PyObject *py_sdpa(PyObject *self, PyObject *args, PyObject *kwargs) {
    static char *kw[] = {"query", "key", "value", "attn_mask", "is_causal", "scale", NULL};
    PyObject *q_o, *k_o, *v_o, *m_o = Py_None;
    int is_causal = 0;
    double scale;
    PyArrayObject *q = NULL, *k = NULL, *v = NULL, *m = NULL, *out = NULL;
    int64_t qs[4], ks[4], vs[4], ms[4] = {0, 0, 0, 0};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOOOpd:_sdpa", kw, &q_o, &k_o, &v_o, &m_o, &is_causal,
                                     &scale))
        return NULL;
    if (!(q = strided_operand(q_o, "query", NPY_FLOAT32, qs))) goto fail;
    if (!(k = strided_operand(k_o, "key", NPY_FLOAT32, ks))) goto fail;
    if (!(v = strided_operand(v_o, "value", NPY_FLOAT32, vs))) goto fail;
    slm_attn_mask_kind mk = SLM_ATTN_MASK_NONE;
    if (m_o != Py_None) {
        int is_bool = PyArray_Check(m_o) && PyArray_TYPE((PyArrayObject *)m_o) == NPY_BOOL;
        if (!(m = strided_operand(m_o, "attn_mask", is_bool ? NPY_BOOL : NPY_FLOAT32, ms))) goto fail;
        mk = is_bool ? SLM_ATTN_MASK_BOOL : SLM_ATTN_MASK_ADD;
    }
    const npy_intp *qd = PyArray_DIMS(q), *kd = PyArray_DIMS(k), *vd = PyArray_DIMS(v);
    if (kd[0] != qd[0] || vd[0] != qd[0] || kd[3] != qd[3] || vd[2] != kd[2]) {
        char qb[160], kb[160];
        snprintf(qb, sizeof qb, "%s", slm_py_shape_str(q));
        snprintf(kb, sizeof kb, "%s", slm_py_shape_str(k));
        PyErr_Format(PyExc_ValueError, "%s: inconsistent shapes query %s, key %s, value %s", sdpa_fn, qb,
                     kb, slm_py_shape_str(v));
        goto fail;
    }
    if (m && (PyArray_DIM(m, 0) != qd[0] || PyArray_DIM(m, 1) != qd[1] || PyArray_DIM(m, 2) != qd[2] ||
              PyArray_DIM(m, 3) != kd[2])) {
        PyErr_Format(PyExc_ValueError, "%s: attn_mask shape %s does not match (B, Hq, L, S)", sdpa_fn,
                     slm_py_shape_str(m));
        goto fail;
    }
    slm_sdpa_params p = slm_sdpa_default_params(qd[0], qd[1], kd[1], vd[1], qd[2], kd[2], qd[3], vd[3]);
    p.q_sb = qs[0], p.q_sh = qs[1], p.q_sl = qs[2];
    p.k_sb = ks[0], p.k_sh = ks[1], p.k_ss = ks[2];
    p.v_sb = vs[0], p.v_sh = vs[1], p.v_ss = vs[2];
    p.mask_kind = mk;
    p.m_sb = ms[0], p.m_sh = ms[1], p.m_sl = ms[2], p.m_ss = ms[3];
    p.is_causal = is_causal;
    p.scale = (float)scale;
    int64_t oshape[4] = {qd[0], qd[1], qd[2], vd[3]};
    if (!(out = slm_py_new_f32(4, oshape, sdpa_fn))) goto fail;
    slm_status st;
    SLM_PY_COMPUTE(st, slm_sdpa_f32((float *)PyArray_DATA(out), (const float *)PyArray_DATA(q),
                                    (const float *)PyArray_DATA(k), (const float *)PyArray_DATA(v),
                                    m ? PyArray_DATA(m) : NULL, &p));
    if (st) {
        slm_py_raise(st);
        goto fail;
    }
    Py_DECREF(q);
    Py_DECREF(k);
    Py_DECREF(v);
    Py_XDECREF(m);
    return (PyObject *)out;
fail:
    Py_XDECREF(q);
    Py_XDECREF(k);
    Py_XDECREF(v);
    Py_XDECREF(m);
    Py_XDECREF(out);
    return NULL;
}

PyMethodDef slm_py_attn_methods[] = {
    {"_sdpa", (PyCFunction)(void (*)(void))py_sdpa, METH_VARARGS | METH_KEYWORDS,
     "_sdpa(query, key, value, attn_mask, is_causal, scale): 4-D strided core of "
     "slm.ops.scaled_dot_product_attention (use that instead)"},
    {NULL, NULL, 0, NULL}};
