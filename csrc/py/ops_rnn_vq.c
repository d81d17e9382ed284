/* ops_rnn_vq.c: glue for lstm and nearest_codeword (slm.ops); see glue.h for the
 * pattern. slm/ops/_rnn_vq.py handles the torch-style conveniences (unbatched input,
 * the hx tuple, proj_size); every shape check lives here, with torch's weight names in
 * the messages. */
#include "glue.h"

#include <stdio.h>
#include <string.h>

#include "../runtime/runtime.h"

/* "weight_ih_l0", "bias_hh_l1_reverse", ...: torch's name of flat parameter i */
static void lstm_param_name(char *buf, size_t n, int i, int D, int per) {
    static const char *const kinds[4] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
    const int layer = i / (D * per), d = (i / per) % D, kind = i % per;
    snprintf(buf, n, "params[%d] (%s_l%d%s)", i, kinds[kind], layer, d ? "_reverse" : "");
}

/* lstm(input (T, N, I) or (N, T, I), params, h0, c0, num_layers, bidirectional, bias,
 *      batch_first) -> (output, h_n, c_n) */
static PyObject *py_lstm(PyObject *self, PyObject *args, PyObject *kwargs) {
    static char *kw[] = {"input", "params", "h0", "c0", "num_layers", "bidirectional", "bias",
                         "batch_first", NULL};
    static const char fn[] = "lstm";
    PyObject *x_o, *params_o, *h0_o = Py_None, *c0_o = Py_None, *seq = NULL;
    int num_layers = 1, bidirectional = 0, has_bias = 1, batch_first = 0;
    PyArrayObject *x = NULL, *h0 = NULL, *c0 = NULL, *out = NULL, *hn = NULL, *cn = NULL;
    PyArrayObject **ps = NULL;
    const float **pp = NULL;
    Py_ssize_t np_ = 0, got = 0;
    char name[96];
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO|OOippp:lstm", kw, &x_o, &params_o, &h0_o, &c0_o,
                                     &num_layers, &bidirectional, &has_bias, &batch_first))
        return NULL;
    if (num_layers < 1 || num_layers > 100000) {
        PyErr_Format(PyExc_ValueError, "%s: num_layers must be in [1, 100000], got %d", fn, num_layers);
        return NULL;
    }
    const int D = bidirectional ? 2 : 1, per = has_bias ? 4 : 2;
    if (!(x = slm_py_float_array(x_o, fn, "input", 3, 3))) goto fail;
    const int64_t T = batch_first ? PyArray_DIM(x, 1) : PyArray_DIM(x, 0);
    const int64_t N = batch_first ? PyArray_DIM(x, 0) : PyArray_DIM(x, 1), In = PyArray_DIM(x, 2);
    seq = PySequence_Fast(params_o, "lstm: params must be a list or tuple of arrays");
    if (!seq) goto fail;
    np_ = PySequence_Fast_GET_SIZE(seq);
    if (np_ != (Py_ssize_t)num_layers * D * per) {
        PyErr_Format(PyExc_ValueError,
                     "%s: expected %d arrays in params (num_layers=%d x %d directions x %d: w_ih, w_hh%s, in "
                     "nn.LSTM._flat_weights order), got %zd",
                     fn, num_layers * D * per, num_layers, D, per, has_bias ? ", b_ih, b_hh" : "", np_);
        goto fail;
    }
    ps = PyMem_Calloc((size_t)np_, sizeof *ps);
    pp = PyMem_Calloc((size_t)np_, sizeof *pp);
    if (!ps || !pp) {
        PyErr_NoMemory();
        goto fail;
    }
    for (got = 0; got < np_; got++) {
        const int kind = (int)(got % per);
        lstm_param_name(name, sizeof name, (int)got, D, per);
        ps[got] = slm_py_float_array(PySequence_Fast_GET_ITEM(seq, got), fn, name, kind < 2 ? 2 : 1, kind < 2 ? 2 : 1);
        if (!ps[got]) goto fail;
        pp[got] = (const float *)PyArray_DATA(ps[got]);
    }
    /* H from weight_hh_l0 (4H, H), then every shape against it */
    const int64_t H = PyArray_DIM(ps[1], 1);
    for (Py_ssize_t i = 0; i < np_; i++) {
        const int kind = (int)(i % per), layer = (int)(i / (D * per));
        const int64_t cols = kind == 0 ? (layer == 0 ? In : D * H) : H;
        const int ok = PyArray_DIM(ps[i], 0) == 4 * H && (kind >= 2 || PyArray_DIM(ps[i], 1) == cols);
        if (!ok) {
            lstm_param_name(name, sizeof name, (int)i, D, per);
            if (i == 0 && PyArray_DIM(ps[0], 0) == 4 * H)
                PyErr_Format(PyExc_ValueError, "%s: input size %lld (last dimension of input) does not match "
                             "%s of shape %s", fn, (long long)In, name, slm_py_shape_str(ps[0]));
            else if (kind < 2)
                PyErr_Format(PyExc_ValueError, "%s: %s must have shape (%lld, %lld), got %s", fn, name,
                             (long long)(4 * H), (long long)cols, slm_py_shape_str(ps[i]));
            else
                PyErr_Format(PyExc_ValueError, "%s: %s must have shape (%lld,), got %s", fn, name,
                             (long long)(4 * H), slm_py_shape_str(ps[i]));
            goto fail;
        }
    }
    if ((h0_o == Py_None) != (c0_o == Py_None)) {
        PyErr_Format(PyExc_ValueError, "%s: give both h0 and c0, or neither", fn);
        goto fail;
    }
    if (h0_o != Py_None) {
        if (!(h0 = slm_py_float_array(h0_o, fn, "h0", 3, 3))) goto fail;
        if (!(c0 = slm_py_float_array(c0_o, fn, "c0", 3, 3))) goto fail;
        PyArrayObject *s[2] = {h0, c0};
        for (int i = 0; i < 2; i++)
            if (PyArray_DIM(s[i], 0) != (npy_intp)num_layers * D || PyArray_DIM(s[i], 1) != N ||
                PyArray_DIM(s[i], 2) != H) {
                PyErr_Format(PyExc_ValueError, "%s: %s must have shape (%d, %lld, %lld), got %s", fn,
                             i ? "c0" : "h0", num_layers * D, (long long)N, (long long)H,
                             slm_py_shape_str(s[i]));
                goto fail;
            }
    }
    if (T < 1) {
        PyErr_Format(PyExc_ValueError, "%s: the sequence is empty (input shape %s); torch needs T >= 1 too", fn,
                     slm_py_shape_str(x));
        goto fail;
    }
    int64_t oshape[3] = {PyArray_DIM(x, 0), PyArray_DIM(x, 1), D * H};
    int64_t sshape[3] = {(int64_t)num_layers * D, N, H};
    if (!(out = slm_py_new_f32(3, oshape, fn)) || !(hn = slm_py_new_f32(3, sshape, fn)) ||
        !(cn = slm_py_new_f32(3, sshape, fn)))
        goto fail;
    slm_status st;
    SLM_PY_COMPUTE(st, slm_lstm_f32((float *)PyArray_DATA(out), (float *)PyArray_DATA(hn),
                                    (float *)PyArray_DATA(cn), (const float *)PyArray_DATA(x),
                                    h0 ? (const float *)PyArray_DATA(h0) : NULL,
                                    c0 ? (const float *)PyArray_DATA(c0) : NULL, pp, T, N, In, H, num_layers,
                                    bidirectional, has_bias, batch_first));
    if (st) {
        slm_py_raise(st);
        goto fail;
    }
    PyObject *res = Py_BuildValue("(NNN)", out, hn, cn);
    out = hn = cn = NULL;
    if (!res) goto fail;
    for (Py_ssize_t i = 0; i < np_; i++) Py_XDECREF(ps[i]);
    PyMem_Free(ps);
    PyMem_Free(pp);
    Py_DECREF(seq);
    Py_DECREF(x);
    Py_XDECREF(h0);
    Py_XDECREF(c0);
    return res;
fail:
    if (ps)
        for (Py_ssize_t i = 0; i < np_; i++) Py_XDECREF(ps[i]);
    PyMem_Free(ps);
    PyMem_Free(pp);
    Py_XDECREF(seq);
    Py_XDECREF(x);
    Py_XDECREF(h0);
    Py_XDECREF(c0);
    Py_XDECREF(out);
    Py_XDECREF(hn);
    Py_XDECREF(cn);
    return NULL;
}

/* nearest_codeword(x (..., D), codebook (K, D), metric, return_distances) -> idx (...)
 * int64 [, dist (...) float32] */
static PyObject *py_nearest_codeword(PyObject *self, PyObject *args, PyObject *kwargs) {
    static char *kw[] = {"x", "codebook", "metric", "return_distances", NULL};
    static const char fn[] = "nearest_codeword";
    PyObject *x_o, *cb_o;
    const char *metric_s = "l2";
    int want_dist = 0;
    PyArrayObject *x = NULL, *cb = NULL, *idx = NULL, *dist = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO|sp:nearest_codeword", kw, &x_o, &cb_o, &metric_s,
                                     &want_dist))
        return NULL;
    slm_vq_metric metric;
    if (strcmp(metric_s, "l2") == 0) {
        metric = SLM_VQ_L2;
    } else if (strcmp(metric_s, "cosine") == 0) {
        metric = SLM_VQ_COSINE;
    } else {
        PyErr_Format(PyExc_ValueError, "%s: unknown metric '%s'; choose from ['l2', 'cosine']", fn, metric_s);
        return NULL;
    }
    if (!(x = slm_py_float_array(x_o, fn, "x", 1, NPY_MAXDIMS))) goto fail;
    if (!(cb = slm_py_float_array(cb_o, fn, "codebook", 2, 2))) goto fail;
    const int nd = PyArray_NDIM(x);
    const int64_t D = PyArray_DIM(x, nd - 1), K = PyArray_DIM(cb, 0);
    if (PyArray_DIM(cb, 1) != D) {
        char xs[160];
        snprintf(xs, sizeof xs, "%s", slm_py_shape_str(x));
        PyErr_Format(PyExc_ValueError, "%s: x's last dimension must equal the codebook's, got x %s and codebook %s",
                     fn, xs, slm_py_shape_str(cb));
        goto fail;
    }
    if (K < 1) {
        PyErr_Format(PyExc_ValueError, "%s: the codebook is empty (shape %s)", fn, slm_py_shape_str(cb));
        goto fail;
    }
    npy_intp dims[NPY_MAXDIMS];
    int64_t N = 1;
    for (int i = 0; i < nd - 1; i++) dims[i] = PyArray_DIM(x, i), N *= PyArray_DIM(x, i);
    if (!(idx = (PyArrayObject *)PyArray_SimpleNew(nd - 1, dims, NPY_INT64))) goto fail;
    if (want_dist) {
        int64_t sh[NPY_MAXDIMS];
        for (int i = 0; i < nd - 1; i++) sh[i] = dims[i];
        if (!(dist = slm_py_new_f32(nd - 1, sh, fn))) goto fail;
    }
    slm_status st;
    SLM_PY_COMPUTE(st, slm_nearest_codeword_f32((int64_t *)PyArray_DATA(idx),
                                                dist ? (float *)PyArray_DATA(dist) : NULL,
                                                (const float *)PyArray_DATA(x), (const float *)PyArray_DATA(cb),
                                                N, K, D, metric));
    if (st) {
        slm_py_raise(st);
        goto fail;
    }
    Py_DECREF(x);
    Py_DECREF(cb);
    if (dist) return Py_BuildValue("(NN)", idx, dist);
    return (PyObject *)idx;
fail:
    Py_XDECREF(x);
    Py_XDECREF(cb);
    Py_XDECREF(idx);
    Py_XDECREF(dist);
    return NULL;
}

PyMethodDef slm_py_rnn_vq_methods[] = {
    {"lstm", (PyCFunction)(void (*)(void))py_lstm, METH_VARARGS | METH_KEYWORDS,
     "lstm(input, params, h0=None, c0=None, num_layers=1, bidirectional=False, bias=True, "
     "batch_first=False) -> (output, h_n, c_n); core of slm.ops.lstm (3-D input only)"},
    {"nearest_codeword", (PyCFunction)(void (*)(void))py_nearest_codeword, METH_VARARGS | METH_KEYWORDS,
     "nearest_codeword(x, codebook, metric='l2', return_distances=False): see slm.ops.nearest_codeword"},
    {NULL, NULL, 0, NULL}};
