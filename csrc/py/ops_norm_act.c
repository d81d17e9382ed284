/* ops_norm_act.c: glue for norms, activations, Snake, softmax and RoPE (slm.ops).
 *
 * Same order as every glue function (see glue.h): convert and check each argument
 * with messages naming the op, the argument and the bad value; allocate the output;
 * compute with the GIL released; map a failing status to an exception.
 */
#include <float.h>
#include <math.h>

#include "glue.h"

#include "../runtime/runtime.h"

/* new float32 array with a's shape */
static PyArrayObject *new_like(PyArrayObject *a, const char *fn) {
    int64_t shape[NPY_MAXDIMS];
    int nd = PyArray_NDIM(a);
    for (int i = 0; i < nd; i++) shape[i] = PyArray_DIM(a, i);
    return slm_py_new_f32(nd, shape, fn);
}

static const char *shape_str(int n, const int64_t *s) {
    static _Thread_local char buf[200];
    int k = snprintf(buf, sizeof buf, "(");
    for (int i = 0; i < n && k < (int)sizeof buf - 24; i++)
        k += snprintf(buf + k, sizeof buf - (size_t)k, i ? ", %lld" : "%lld", (long long)s[i]);
    if (n == 1) k += snprintf(buf + k, sizeof buf - (size_t)k, ",");
    snprintf(buf + k, sizeof buf - (size_t)k, ")");
    return buf;
}

/* eps as a float that the C entry accepts */
static int parse_eps(PyObject *o, double dflt, const char *fn, float *out) {
    double e = dflt;
    if (o && o != Py_None) {
        e = PyFloat_AsDouble(o);
        if (e == -1.0 && PyErr_Occurred()) {
            PyErr_Clear();
            PyErr_Format(PyExc_TypeError, "%s: eps must be a float, got %.80s", fn, Py_TYPE(o)->tp_name);
            return -1;
        }
    }
    if (!(e >= 0.0) || !isfinite(e)) {
        PyErr_Format(PyExc_ValueError, "%s: eps must be finite and >= 0, got %g", fn, e);
        return -1;
    }
    *out = (float)e;
    return 0;
}

/* normalized_shape (int or sequence of ints) -> ns[0..*k) */
static int parse_shape(PyObject *o, const char *fn, int64_t *ns, int *k) {
    PyObject *seq = NULL;
    if (PyIndex_Check(o)) {
        Py_ssize_t v = PyNumber_AsSsize_t(o, PyExc_OverflowError);
        if (v == -1 && PyErr_Occurred()) return -1;
        ns[0] = v;
        *k = 1;
    } else {
        seq = PySequence_Fast(o, "");
        if (!seq) {
            PyErr_Clear();
            PyErr_Format(PyExc_TypeError, "%s: normalized_shape must be an int or a sequence of ints, got %.80s",
                         fn, Py_TYPE(o)->tp_name);
            return -1;
        }
        Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
        if (n < 1 || n > NPY_MAXDIMS) {
            PyErr_Format(PyExc_ValueError, "%s: normalized_shape must have 1 to %d entries, got %zd", fn,
                         NPY_MAXDIMS, n);
            goto fail;
        }
        for (Py_ssize_t i = 0; i < n; i++) {
            PyObject *it = PySequence_Fast_GET_ITEM(seq, i);
            if (!PyIndex_Check(it)) {
                PyErr_Format(PyExc_TypeError, "%s: normalized_shape entries must be ints, got %.80s", fn,
                             Py_TYPE(it)->tp_name);
                goto fail;
            }
            Py_ssize_t v = PyNumber_AsSsize_t(it, PyExc_OverflowError);
            if (v == -1 && PyErr_Occurred()) goto fail;
            ns[i] = v;
        }
        *k = (int)n;
        Py_DECREF(seq);
    }
    for (int i = 0; i < *k; i++)
        if (ns[i] < 0) {
            PyErr_Format(PyExc_ValueError, "%s: normalized_shape %s has a negative entry", fn, shape_str(*k, ns));
            return -1;
        }
    return 0;
fail:
    Py_XDECREF(seq);
    return -1;
}

/* an optional parameter array whose shape must equal want[0..k) */
static int param_array(PyObject *o, const char *fn, const char *arg, int k, const int64_t *want,
                       const char *what, PyArrayObject **out) {
    if (slm_py_optional_float_array(o, fn, arg, 0, NPY_MAXDIMS, out) < 0) return -1;
    if (!*out) return 0;
    int ok = PyArray_NDIM(*out) == k;
    for (int i = 0; ok && i < k; i++) ok = PyArray_DIM(*out, i) == want[i];
    if (!ok) {
        char ws[200];
        snprintf(ws, sizeof ws, "%s", shape_str(k, want));
        PyErr_Format(PyExc_ValueError, "%s: %s must have shape %s (%s), got %s", fn, arg, ws, what,
                     slm_py_shape_str(*out));
        Py_CLEAR(*out);
        return -1;
    }
    return 0;
}

#define DATA(a) ((a) ? (const float *)PyArray_DATA(a) : NULL)

/* the (rows, cols) split of input for a norm over its trailing normalized_shape */
static int trailing_split(PyArrayObject *x, const char *fn, int k, const int64_t *ns, int64_t *rows,
                          int64_t *cols) {
    int nd = PyArray_NDIM(x);
    int ok = nd >= k;
    for (int i = 0; ok && i < k; i++) ok = PyArray_DIM(x, nd - k + i) == ns[i];
    if (!ok) {
        PyErr_Format(PyExc_ValueError, "%s: input of shape %s does not end with normalized_shape %s", fn,
                     slm_py_shape_str(x), shape_str(k, ns));
        return -1;
    }
    *rows = 1;
    *cols = 1;
    for (int i = 0; i < nd; i++) {
        if (i < nd - k) *rows *= PyArray_DIM(x, i);
        else *cols *= PyArray_DIM(x, i);
    }
    return 0;
}

/* ---- norms ---- */

static PyObject *py_layer_norm(PyObject *self, PyObject *args, PyObject *kwargs) {
    static char *kw[] = {"input", "normalized_shape", "weight", "bias", "eps", NULL};
    static const char fn[] = "layer_norm";
    PyObject *x_o, *ns_o, *w_o = Py_None, *b_o = Py_None, *eps_o = NULL;
    PyArrayObject *x = NULL, *w = NULL, *b = NULL, *out = NULL;
    int64_t ns[NPY_MAXDIMS], rows, cols;
    int k;
    float eps;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO|OOO:layer_norm", kw, &x_o, &ns_o, &w_o, &b_o, &eps_o))
        return NULL;
    if (parse_shape(ns_o, fn, ns, &k) < 0 || parse_eps(eps_o, 1e-5, fn, &eps) < 0) return NULL;
    x = slm_py_float_array(x_o, fn, "input", 1, NPY_MAXDIMS);
    if (!x || trailing_split(x, fn, k, ns, &rows, &cols) < 0) goto fail;
    if (param_array(w_o, fn, "weight", k, ns, "normalized_shape", &w) < 0) goto fail;
    if (param_array(b_o, fn, "bias", k, ns, "normalized_shape", &b) < 0) goto fail;
    out = new_like(x, fn);
    if (!out) goto fail;
    slm_status st;
    SLM_PY_COMPUTE(st, slm_layer_norm_f32((float *)PyArray_DATA(out), DATA(x), DATA(w), DATA(b), rows,
                                          cols, eps));
    if (st) {
        slm_py_raise(st);
        goto fail;
    }
    Py_DECREF(x);
    Py_XDECREF(w);
    Py_XDECREF(b);
    return (PyObject *)out;
fail:
    Py_XDECREF(x);
    Py_XDECREF(w);
    Py_XDECREF(b);
    Py_XDECREF(out);
    return NULL;
}

static PyObject *py_rms_norm(PyObject *self, PyObject *args, PyObject *kwargs) {
    static char *kw[] = {"input", "normalized_shape", "weight", "eps", NULL};
    static const char fn[] = "rms_norm";
    PyObject *x_o, *ns_o, *w_o = Py_None, *eps_o = NULL;
    PyArrayObject *x = NULL, *w = NULL, *out = NULL;
    int64_t ns[NPY_MAXDIMS], rows, cols;
    int k;
    float eps;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO|OO:rms_norm", kw, &x_o, &ns_o, &w_o, &eps_o))
        return NULL;
    /* eps=None: torch uses torch.finfo(input.dtype).eps, FLT_EPSILON for float32 */
    if (parse_shape(ns_o, fn, ns, &k) < 0 || parse_eps(eps_o, FLT_EPSILON, fn, &eps) < 0) return NULL;
    x = slm_py_float_array(x_o, fn, "input", 1, NPY_MAXDIMS);
    if (!x || trailing_split(x, fn, k, ns, &rows, &cols) < 0) goto fail;
    if (param_array(w_o, fn, "weight", k, ns, "normalized_shape", &w) < 0) goto fail;
    out = new_like(x, fn);
    if (!out) goto fail;
    slm_status st;
    SLM_PY_COMPUTE(st, slm_rms_norm_f32((float *)PyArray_DATA(out), DATA(x), DATA(w), rows, cols, eps));
    if (st) {
        slm_py_raise(st);
        goto fail;
    }
    Py_DECREF(x);
    Py_XDECREF(w);
    return (PyObject *)out;
fail:
    Py_XDECREF(x);
    Py_XDECREF(w);
    Py_XDECREF(out);
    return NULL;
}

static PyObject *py_group_norm(PyObject *self, PyObject *args, PyObject *kwargs) {
    static char *kw[] = {"input", "num_groups", "weight", "bias", "eps", NULL};
    static const char fn[] = "group_norm";
    PyObject *x_o, *w_o = Py_None, *b_o = Py_None, *eps_o = NULL;
    PyArrayObject *x = NULL, *w = NULL, *b = NULL, *out = NULL;
    long long G;
    float eps;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OL|OOO:group_norm", kw, &x_o, &G, &w_o, &b_o, &eps_o))
        return NULL;
    if (parse_eps(eps_o, 1e-5, fn, &eps) < 0) return NULL;
    x = slm_py_float_array(x_o, fn, "input", 2, NPY_MAXDIMS);
    if (!x) goto fail;
    int64_t N = PyArray_DIM(x, 0), C = PyArray_DIM(x, 1), L = 1;
    for (int i = 2; i < PyArray_NDIM(x); i++) L *= PyArray_DIM(x, i);
    if (G < 1 || C % G != 0) {
        PyErr_Format(PyExc_ValueError, "%s: num_groups must be >= 1 and divide the channels (input %s, C=%lld), got %lld",
                     fn, slm_py_shape_str(x), (long long)C, G);
        goto fail;
    }
    if (param_array(w_o, fn, "weight", 1, &C, "channels", &w) < 0) goto fail;
    if (param_array(b_o, fn, "bias", 1, &C, "channels", &b) < 0) goto fail;
    out = new_like(x, fn);
    if (!out) goto fail;
    slm_status st;
    SLM_PY_COMPUTE(st, slm_group_norm_f32((float *)PyArray_DATA(out), DATA(x), DATA(w), DATA(b), N, C, L,
                                          (int64_t)G, eps));
    if (st) {
        slm_py_raise(st);
        goto fail;
    }
    Py_DECREF(x);
    Py_XDECREF(w);
    Py_XDECREF(b);
    return (PyObject *)out;
fail:
    Py_XDECREF(x);
    Py_XDECREF(w);
    Py_XDECREF(b);
    Py_XDECREF(out);
    return NULL;
}

/* ---- elementwise ---- */

static PyObject *act_run(PyObject *x_o, const char *fn, slm_act kind, double param) {
    PyArrayObject *x = slm_py_float_array(x_o, fn, "input", 0, NPY_MAXDIMS), *out = NULL;
    if (!x) return NULL;
    out = new_like(x, fn);
    if (!out) goto fail;
    slm_status st;
    SLM_PY_COMPUTE(st, slm_act_f32((float *)PyArray_DATA(out), DATA(x), (int64_t)PyArray_SIZE(x), kind,
                                   (float)param));
    if (st) {
        slm_py_raise(st);
        goto fail;
    }
    Py_DECREF(x);
    return (PyObject *)out;
fail:
    Py_XDECREF(x);
    Py_XDECREF(out);
    return NULL;
}

#define ACT_NOPARAM(name, kind)                                                           \
    static PyObject *py_##name(PyObject *self, PyObject *args, PyObject *kwargs) {        \
        static char *kw[] = {"input", NULL};                                              \
        PyObject *x_o;                                                                    \
        if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O:" #name, kw, &x_o)) return NULL; \
        return act_run(x_o, #name, kind, 0.0);                                            \
    }
ACT_NOPARAM(relu, SLM_ACT_RELU)
ACT_NOPARAM(silu, SLM_ACT_SILU)
ACT_NOPARAM(tanh, SLM_ACT_TANH)
ACT_NOPARAM(sigmoid, SLM_ACT_SIGMOID)

static PyObject *py_leaky_relu(PyObject *self, PyObject *args, PyObject *kwargs) {
    static char *kw[] = {"input", "negative_slope", NULL};
    PyObject *x_o;
    double slope = 0.01;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|d:leaky_relu", kw, &x_o, &slope)) return NULL;
    return act_run(x_o, "leaky_relu", SLM_ACT_LEAKY_RELU, slope);
}

static PyObject *py_elu(PyObject *self, PyObject *args, PyObject *kwargs) {
    static char *kw[] = {"input", "alpha", NULL};
    PyObject *x_o;
    double alpha = 1.0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|d:elu", kw, &x_o, &alpha)) return NULL;
    return act_run(x_o, "elu", SLM_ACT_ELU, alpha);
}

static PyObject *py_gelu(PyObject *self, PyObject *args, PyObject *kwargs) {
    static char *kw[] = {"input", "approximate", NULL};
    PyObject *x_o, *ap_o = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|O:gelu", kw, &x_o, &ap_o)) return NULL;
    slm_act kind = SLM_ACT_GELU;
    if (ap_o) {
        const char *ap = PyUnicode_Check(ap_o) ? PyUnicode_AsUTF8(ap_o) : NULL;
        if (ap && strcmp(ap, "tanh") == 0) {
            kind = SLM_ACT_GELU_TANH;
        } else if (!ap || strcmp(ap, "none") != 0) {
            PyErr_Clear();
            PyObject *r = PyObject_Repr(ap_o);
            PyErr_Format(PyExc_ValueError, "gelu: approximate must be 'none' or 'tanh', got %.80s",
                         r ? PyUnicode_AsUTF8(r) : "?");
            Py_XDECREF(r);
            return NULL;
        }
    }
    return act_run(x_o, "gelu", kind, 0.0);
}

static PyObject *py_snake(PyObject *self, PyObject *args, PyObject *kwargs) {
    static char *kw[] = {"input", "alpha", "beta", "logscale", "eps", NULL};
    static const char fn[] = "snake";
    PyObject *x_o, *a_o, *b_o = Py_None;
    int logscale = 0;
    double eps = 1e-9;
    PyArrayObject *x = NULL, *a = NULL, *b = NULL, *out = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO|Opd:snake", kw, &x_o, &a_o, &b_o, &logscale, &eps))
        return NULL;
    if (!isfinite(eps)) return PyErr_Format(PyExc_ValueError, "%s: eps must be finite, got %g", fn, eps);
    x = slm_py_float_array(x_o, fn, "input", 2, NPY_MAXDIMS);
    if (!x) goto fail;
    int nd = PyArray_NDIM(x);
    /* (C, L) or (N, C, *) as DAC's snake, which flattens the trailing dims */
    int64_t N = nd == 2 ? 1 : PyArray_DIM(x, 0), C = PyArray_DIM(x, nd == 2 ? 0 : 1), L = 1;
    for (int i = nd == 2 ? 1 : 2; i < nd; i++) L *= PyArray_DIM(x, i);
    for (int which = 0; which < 2; which++) {
        PyObject *o = which ? b_o : a_o;
        const char *arg = which ? "beta" : "alpha";
        PyArrayObject **dst = which ? &b : &a;
        if (which && o == Py_None) break;
        *dst = slm_py_float_array(o, fn, arg, 1, 3);
        if (!*dst) goto fail;
        /* (C,) as BigVGAN's parameters, or (1, C, 1) as DAC's */
        PyArrayObject *p = *dst;
        int pn = PyArray_NDIM(p);
        int ok = pn == 1 ? PyArray_DIM(p, 0) == C
                         : pn == 3 && PyArray_DIM(p, 0) == 1 && PyArray_DIM(p, 1) == C && PyArray_DIM(p, 2) == 1;
        if (!ok) {
            PyErr_Format(PyExc_ValueError, "%s: %s must have shape (%lld,) or (1, %lld, 1) for input %s, got %s", fn,
                         arg, (long long)C, (long long)C, slm_py_shape_str(x), slm_py_shape_str(p));
            goto fail;
        }
    }
    out = new_like(x, fn);
    if (!out) goto fail;
    slm_status st;
    SLM_PY_COMPUTE(st, slm_snake_f32((float *)PyArray_DATA(out), DATA(x), DATA(a), DATA(b), N, C, L, logscale,
                                     (float)eps));
    if (st) {
        slm_py_raise(st);
        goto fail;
    }
    Py_DECREF(x);
    Py_DECREF(a);
    Py_XDECREF(b);
    return (PyObject *)out;
fail:
    Py_XDECREF(x);
    Py_XDECREF(a);
    Py_XDECREF(b);
    Py_XDECREF(out);
    return NULL;
}

/* ---- softmax ---- */

static PyObject *py_softmax(PyObject *self, PyObject *args, PyObject *kwargs) {
    static char *kw[] = {"input", "dim", "mask", NULL};
    static const char fn[] = "softmax";
    PyObject *x_o, *m_o = Py_None;
    long long dim = -1;
    PyArrayObject *x = NULL, *m = NULL, *out = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|LO:softmax", kw, &x_o, &dim, &m_o)) return NULL;
    x = slm_py_float_array(x_o, fn, "input", 0, NPY_MAXDIMS);
    if (!x) goto fail;
    /* a 0-d input is softmax over one value, as torch */
    int nd = PyArray_NDIM(x) ? PyArray_NDIM(x) : 1;
    int64_t shape[NPY_MAXDIMS], mst[NPY_MAXDIMS];
    for (int i = 0; i < nd; i++) shape[i] = PyArray_NDIM(x) ? PyArray_DIM(x, i) : 1;
    if (dim < -nd || dim >= nd) {
        PyErr_Format(PyExc_ValueError, "%s: dim %lld is out of range for input of shape %s (%d-D)", fn, dim,
                     slm_py_shape_str(x), PyArray_NDIM(x));
        goto fail;
    }
    int axis = (int)(dim < 0 ? dim + nd : dim);
    slm_mask_kind kind = SLM_MASK_NONE;
    if (m_o != Py_None) {
        PyObject *ma = PyArray_FROM_O(m_o);
        if (!ma) goto fail;
        int t = PyArray_TYPE((PyArrayObject *)ma);
        if (t == NPY_BOOL) {
            kind = SLM_MASK_BOOL;
        } else if (t == NPY_FLOAT16 || t == NPY_FLOAT32 || t == NPY_FLOAT64) {
            kind = SLM_MASK_ADD;
        } else {
            PyArray_Descr *d = PyArray_DESCR((PyArrayObject *)ma);
            PyErr_Format(PyExc_TypeError, "%s: mask must be boolean (True = keep) or floating-point (added), got dtype %c%d",
                         fn, d->kind, (int)PyDataType_ELSIZE(d));
            Py_DECREF(ma);
            goto fail;
        }
        /* no copy for float32 / bool views, broadcast ones (zero strides) included */
        m = (PyArrayObject *)PyArray_FROM_OTF(ma, kind == SLM_MASK_BOOL ? NPY_BOOL : NPY_FLOAT32,
                                              NPY_ARRAY_ALIGNED | NPY_ARRAY_FORCECAST);
        Py_DECREF(ma);
        if (!m) goto fail;
        int es = kind == SLM_MASK_BOOL ? 1 : 4, mnd = PyArray_NDIM(m), ok = 1;
        for (int i = 0; i < mnd; i++)
            if (PyArray_STRIDE(m, i) % es) ok = 0;
        if (!ok) { /* misaligned strides: one contiguous copy */
            PyArrayObject *c = (PyArrayObject *)PyArray_NewCopy(m, NPY_CORDER);
            Py_DECREF(m);
            m = c;
            if (!m) goto fail;
        }
        /* right-aligned broadcast of the mask to the input's shape */
        for (int i = 0; i < mnd - nd; i++)
            if (PyArray_DIM(m, i) != 1) ok = -1;
        for (int i = 0; i < nd && ok >= 0; i++) {
            int j = i - (nd - mnd);
            if (j < 0) mst[i] = 0;
            else if (PyArray_DIM(m, j) == shape[i]) mst[i] = PyArray_DIM(m, j) == 1 ? 0 : PyArray_STRIDE(m, j) / es;
            else if (PyArray_DIM(m, j) == 1) mst[i] = 0;
            else ok = -1;
        }
        if (ok < 0) {
            char ms[160];
            snprintf(ms, sizeof ms, "%s", slm_py_shape_str(m));
            PyErr_Format(PyExc_ValueError, "%s: mask of shape %s does not broadcast to input of shape %s", fn, ms,
                         slm_py_shape_str(x));
            goto fail;
        }
    }
    out = new_like(x, fn);
    if (!out) goto fail;
    slm_status st;
    SLM_PY_COMPUTE(st, slm_softmax_masked_f32((float *)PyArray_DATA(out), DATA(x), m ? PyArray_DATA(m) : NULL,
                                              kind, m ? mst : NULL, nd, shape, axis));
    if (st) {
        slm_py_raise(st);
        goto fail;
    }
    Py_DECREF(x);
    Py_XDECREF(m);
    return (PyObject *)out;
fail:
    Py_XDECREF(x);
    Py_XDECREF(m);
    Py_XDECREF(out);
    return NULL;
}

/* ---- RoPE ---- */

static PyObject *py_rope(PyObject *self, PyObject *args, PyObject *kwargs) {
    static char *kw[] = {"input", "positions", "theta", "interleaved", "rotary_dim", NULL};
    static const char fn[] = "rope";
    PyObject *x_o, *p_o = Py_None, *r_o = Py_None;
    double theta = 10000.0;
    int interleaved = 0;
    PyArrayObject *x = NULL, *pos = NULL, *out = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|OdpO:rope", kw, &x_o, &p_o, &theta, &interleaved, &r_o))
        return NULL;
    if (!(theta > 0.0) || !isfinite((float)theta))
        return PyErr_Format(PyExc_ValueError, "%s: theta must be finite and > 0, got %g", fn, theta);
    x = slm_py_float_array(x_o, fn, "input", 2, NPY_MAXDIMS);
    if (!x) goto fail;
    int nd = PyArray_NDIM(x);
    int64_t T = PyArray_DIM(x, nd - 2), D = PyArray_DIM(x, nd - 1), B = 1, R = D;
    for (int i = 0; i < nd - 2; i++) B *= PyArray_DIM(x, i);
    if (r_o != Py_None) {
        if (!PyIndex_Check(r_o)) {
            PyErr_Format(PyExc_TypeError, "%s: rotary_dim must be an int or None, got %.80s", fn,
                         Py_TYPE(r_o)->tp_name);
            goto fail;
        }
        R = PyNumber_AsSsize_t(r_o, PyExc_OverflowError);
        if (R == -1 && PyErr_Occurred()) goto fail;
        if (R < 2 || R > D || R % 2) {
            PyErr_Format(PyExc_ValueError, "%s: rotary_dim must be even and in [2, %lld] (the last dimension of input %s), got %lld",
                         fn, (long long)D, slm_py_shape_str(x), (long long)R);
            goto fail;
        }
    } else if (D % 2) {
        PyErr_Format(PyExc_ValueError, "%s: the last dimension of input %s must be even (pairs of rotated values)", fn,
                     slm_py_shape_str(x));
        goto fail;
    }
    if (p_o != Py_None) {
        pos = slm_py_index_array(p_o, fn, "positions", 1, 1);
        if (!pos) goto fail;
        if (PyArray_DIM(pos, 0) != T) {
            PyErr_Format(PyExc_ValueError, "%s: positions must have shape (%lld,) (input %s is (..., T, D)), got %s", fn,
                         (long long)T, slm_py_shape_str(x), slm_py_shape_str(pos));
            goto fail;
        }
    }
    out = new_like(x, fn);
    if (!out) goto fail;
    slm_status st;
    SLM_PY_COMPUTE(st, slm_rope_f32((float *)PyArray_DATA(out), DATA(x), pos ? (const int64_t *)PyArray_DATA(pos) : NULL,
                                    B, T, D, R, (float)theta, interleaved));
    if (st) {
        slm_py_raise(st);
        goto fail;
    }
    Py_DECREF(x);
    Py_XDECREF(pos);
    return (PyObject *)out;
fail:
    Py_XDECREF(x);
    Py_XDECREF(pos);
    Py_XDECREF(out);
    return NULL;
}

#define KW METH_VARARGS | METH_KEYWORDS
#define FN(f) (PyCFunction)(void (*)(void))f
PyMethodDef slm_py_norm_act_methods[] = {
    {"layer_norm", FN(py_layer_norm), KW, "layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5)"},
    {"group_norm", FN(py_group_norm), KW, "group_norm(input, num_groups, weight=None, bias=None, eps=1e-5)"},
    {"rms_norm", FN(py_rms_norm), KW, "rms_norm(input, normalized_shape, weight=None, eps=None)"},
    {"relu", FN(py_relu), KW, "relu(input)"},
    {"leaky_relu", FN(py_leaky_relu), KW, "leaky_relu(input, negative_slope=0.01)"},
    {"elu", FN(py_elu), KW, "elu(input, alpha=1.0)"},
    {"gelu", FN(py_gelu), KW, "gelu(input, approximate='none')"},
    {"silu", FN(py_silu), KW, "silu(input)"},
    {"tanh", FN(py_tanh), KW, "tanh(input)"},
    {"sigmoid", FN(py_sigmoid), KW, "sigmoid(input)"},
    {"snake", FN(py_snake), KW, "snake(input, alpha, beta=None, logscale=False, eps=1e-9)"},
    {"softmax", FN(py_softmax), KW, "softmax(input, dim=-1, mask=None)"},
    {"rope", FN(py_rope), KW, "rope(input, positions=None, theta=10000.0, interleaved=False, rotary_dim=None)"},
    {NULL, NULL, 0, NULL}};
