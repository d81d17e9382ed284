/* ops_conv.c: glue for the conv op family (slm.ops.conv1d, slm.ops.conv_transpose1d);
 * see glue.h for the pattern. The Python wrappers (slm/ops/_conv.py) turn torch's
 * padding arguments ('same', causal, padding_mode names) into explicit integers; this
 * file checks the arrays and their shapes, and the C entry checks the numbers. */
#include "glue.h"

#include "../runtime/runtime.h"

/* input (N, Cin, L) or unbatched (Cin, L); weight 3-D; bias (Cout,) or None. Fills the
 * sizes; returns -1 with an exception set on a bad shape. */
static int conv_arrays(const char *fn, PyObject *input_o, PyObject *weight_o, PyObject *bias_o,
                       PyArrayObject **x, PyArrayObject **w, PyArrayObject **b, int64_t *N, int64_t *Cin,
                       int64_t *L) {
    *x = slm_py_float_array(input_o, fn, "input", 2, 3);
    if (!*x) return -1;
    *w = slm_py_float_array(weight_o, fn, "weight", 3, 3);
    if (!*w) return -1;
    if (slm_py_optional_float_array(bias_o, fn, "bias", 1, 1, b) < 0) return -1;
    const int nd = PyArray_NDIM(*x);
    *N = nd == 3 ? PyArray_DIM(*x, 0) : 1;
    *Cin = PyArray_DIM(*x, nd - 2);
    *L = PyArray_DIM(*x, nd - 1);
    return 0;
}

/* output array: (N, Cout, Lout), or (Cout, Lout) for unbatched input */
static PyArrayObject *conv_output(const char *fn, PyArrayObject *x, int64_t N, int64_t Cout, int64_t Lout) {
    int64_t shape[3] = {N, Cout, Lout};
    if (PyArray_NDIM(x) == 2) return slm_py_new_f32(2, shape + 1, fn);
    return slm_py_new_f32(3, shape, fn);
}

/* conv1d(input, weight, bias, stride, pad_left, pad_right, dilation, groups, padding_mode) */
static PyObject *py_conv1d(PyObject *self, PyObject *args, PyObject *kwargs) {
    static char *kw[] = {"input", "weight", "bias", "stride", "pad_left", "pad_right", "dilation", "groups",
                         "padding_mode", NULL};
    static const char fn[] = "conv1d";
    PyObject *input_o, *weight_o, *bias_o = Py_None;
    long long stride = 1, pl = 0, pr = 0, dil = 1, groups = 1;
    int mode = 0;
    PyArrayObject *x = NULL, *w = NULL, *b = NULL, *out = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO|OLLLLLi:conv1d", kw, &input_o, &weight_o, &bias_o,
                                     &stride, &pl, &pr, &dil, &groups, &mode))
        return NULL;
    int64_t N, Cin, L;
    if (conv_arrays(fn, input_o, weight_o, bias_o, &x, &w, &b, &N, &Cin, &L) < 0) goto fail;
    const int64_t Cout = PyArray_DIM(w, 0), Cgw = PyArray_DIM(w, 1), K = PyArray_DIM(w, 2);
    if (groups < 1) {
        PyErr_Format(PyExc_ValueError, "%s: groups must be >= 1, got %lld", fn, groups);
        goto fail;
    }
    /* torch's message: weight (Cout, Cin/groups, K) against the input's channels */
    if (Cgw > INT64_MAX / groups || Cgw * groups != Cin) {
        PyErr_Format(PyExc_ValueError,
                     "%s: given groups=%lld and weight of shape %s, expected input with %lld channels "
                     "(weight.shape[1]*groups), got %lld channels",
                     fn, groups, slm_py_shape_str(w), Cgw > INT64_MAX / groups ? -1LL : (long long)(Cgw * groups),
                     (long long)Cin);
        goto fail;
    }
    if (Cout % groups != 0) {
        PyErr_Format(PyExc_ValueError, "%s: groups=%lld must divide the output channels (weight shape %s)", fn,
                     groups, slm_py_shape_str(w));
        goto fail;
    }
    if (b && PyArray_DIM(b, 0) != Cout) {
        PyErr_Format(PyExc_ValueError, "%s: bias must have %lld elements (weight shape %s), got %lld", fn,
                     (long long)Cout, slm_py_shape_str(w), (long long)PyArray_DIM(b, 0));
        goto fail;
    }
    slm_conv1d_params p = slm_conv1d_default_params();
    p.stride = stride, p.pad_left = pl, p.pad_right = pr, p.dilation = dil, p.groups = groups;
    p.padding_mode = (slm_padding_mode)mode;
    int64_t Lout;
    slm_status st = slm_conv1d_out_len(&Lout, L, K, p);
    if (st) {
        slm_py_raise(st);
        goto fail;
    }
    out = conv_output(fn, x, N, Cout, Lout);
    if (!out) goto fail;
    SLM_PY_COMPUTE(st, slm_conv1d_f32((float *)PyArray_DATA(out), (const float *)PyArray_DATA(x),
                                      (const float *)PyArray_DATA(w), b ? (const float *)PyArray_DATA(b) : NULL,
                                      N, Cin, L, Cout, K, p));
    if (st) {
        slm_py_raise(st);
        goto fail;
    }
    Py_DECREF(x);
    Py_DECREF(w);
    Py_XDECREF(b);
    return (PyObject *)out;
fail:
    Py_XDECREF(x);
    Py_XDECREF(w);
    Py_XDECREF(b);
    Py_XDECREF(out);
    return NULL;
}

/* conv_transpose1d(input, weight, bias, stride, padding, output_padding, groups, dilation) */
static PyObject *py_conv_transpose1d(PyObject *self, PyObject *args, PyObject *kwargs) {
    static char *kw[] = {"input", "weight", "bias", "stride", "padding", "output_padding", "groups", "dilation",
                         NULL};
    static const char fn[] = "conv_transpose1d";
    PyObject *input_o, *weight_o, *bias_o = Py_None;
    long long stride = 1, pad = 0, opad = 0, groups = 1, dil = 1;
    PyArrayObject *x = NULL, *w = NULL, *b = NULL, *out = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO|OLLLLL:conv_transpose1d", kw, &input_o, &weight_o,
                                     &bias_o, &stride, &pad, &opad, &groups, &dil))
        return NULL;
    int64_t N, Cin, L;
    if (conv_arrays(fn, input_o, weight_o, bias_o, &x, &w, &b, &N, &Cin, &L) < 0) goto fail;
    const int64_t Cinw = PyArray_DIM(w, 0), Ogw = PyArray_DIM(w, 1), K = PyArray_DIM(w, 2);
    if (groups < 1) {
        PyErr_Format(PyExc_ValueError, "%s: groups must be >= 1, got %lld", fn, groups);
        goto fail;
    }
    if (Cinw != Cin) {
        PyErr_Format(PyExc_ValueError,
                     "%s: weight of shape %s expects input with %lld channels (weight.shape[0]), got %lld",
                     fn, slm_py_shape_str(w), (long long)Cinw, (long long)Cin);
        goto fail;
    }
    if (Cin % groups != 0) {
        PyErr_Format(PyExc_ValueError, "%s: groups=%lld must divide the input channels %lld", fn, groups,
                     (long long)Cin);
        goto fail;
    }
    if (Ogw > INT64_MAX / groups) {
        PyErr_Format(PyExc_MemoryError, "%s: output channels weight.shape[1]*groups overflow", fn);
        goto fail;
    }
    const int64_t Cout = Ogw * groups;
    if (b && PyArray_DIM(b, 0) != Cout) {
        PyErr_Format(PyExc_ValueError, "%s: bias must have %lld elements (weight.shape[1]*groups), got %lld", fn,
                     (long long)Cout, (long long)PyArray_DIM(b, 0));
        goto fail;
    }
    int64_t Lout;
    slm_status st = slm_conv_transpose1d_out_len(&Lout, L, K, stride, pad, opad, dil);
    if (st) {
        slm_py_raise(st);
        goto fail;
    }
    out = conv_output(fn, x, N, Cout, Lout);
    if (!out) goto fail;
    SLM_PY_COMPUTE(st, slm_conv_transpose1d_f32((float *)PyArray_DATA(out), (const float *)PyArray_DATA(x),
                                                (const float *)PyArray_DATA(w),
                                                b ? (const float *)PyArray_DATA(b) : NULL, N, Cin, L, Cout, K,
                                                stride, pad, opad, groups, dil));
    if (st) {
        slm_py_raise(st);
        goto fail;
    }
    Py_DECREF(x);
    Py_DECREF(w);
    Py_XDECREF(b);
    return (PyObject *)out;
fail:
    Py_XDECREF(x);
    Py_XDECREF(w);
    Py_XDECREF(b);
    Py_XDECREF(out);
    return NULL;
}

PyMethodDef slm_py_conv_methods[] = {
    {"conv1d", (PyCFunction)(void (*)(void))py_conv1d, METH_VARARGS | METH_KEYWORDS,
     "conv1d(input, weight, bias, stride, pad_left, pad_right, dilation, groups, padding_mode): "
     "explicit-padding conv1d; use slm.ops.conv1d"},
    {"conv_transpose1d", (PyCFunction)(void (*)(void))py_conv_transpose1d, METH_VARARGS | METH_KEYWORDS,
     "conv_transpose1d(input, weight, bias, stride, padding, output_padding, groups, dilation); "
     "use slm.ops.conv_transpose1d"},
    {NULL, NULL, 0, NULL}};
