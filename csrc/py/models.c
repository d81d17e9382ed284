/* models.c: glue shared by the model families (csrc/py/ssl.c, whisper.c, ...): turning
 * a {name: ndarray} dict into the slm_weight list a create function takes, and wrapping
 * model handles in capsules. Also _nn_encoder_layer, which runs one csrc/nn encoder
 * layer on its own so that tests can check it against PyTorch. */
#include "glue.h"

#include "../nn/nn.h"

int slm_py_weights_from_dict(PyObject *dict, const char *fn, slm_weight **out, int64_t *n,
                             PyObject **keep) {
    *out = NULL;
    *n = 0;
    *keep = NULL;
    if (!PyDict_Check(dict)) {
        PyErr_Format(PyExc_TypeError, "%s: weights must be a dict of name -> float32 array, got %s",
                     fn, Py_TYPE(dict)->tp_name);
        return -1;
    }
    Py_ssize_t count = PyDict_Size(dict);
    PyObject *list = PyList_New(0);
    slm_weight *w = (slm_weight *)PyMem_Calloc(count ? (size_t)count : 1, sizeof(slm_weight));
    if (!list || !w) {
        Py_XDECREF(list);
        PyMem_Free(w);
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t pos = 0, i = 0;
    PyObject *k, *v;
    while (PyDict_Next(dict, &pos, &k, &v)) {
        if (!PyUnicode_Check(k)) {
            PyErr_Format(PyExc_TypeError, "%s: weight names must be str, got %s", fn, Py_TYPE(k)->tp_name);
            goto fail;
        }
        const char *name = PyUnicode_AsUTF8(k);
        if (!name) goto fail;
        PyArrayObject *a = slm_py_float_array(v, fn, name, 0, SLM_WEIGHT_MAX_NDIM);
        if (!a) goto fail;
        int rc = PyList_Append(list, (PyObject *)a);
        Py_DECREF(a); /* the list keeps it alive */
        if (rc) goto fail;
        w[i].name = name; /* owned by the key, which the caller's dict keeps alive */
        w[i].data = (const float *)PyArray_DATA(a);
        w[i].ndim = PyArray_NDIM(a);
        for (int d = 0; d < w[i].ndim; d++) w[i].shape[d] = PyArray_DIM(a, d);
        i++;
    }
    *out = w;
    *n = (int64_t)i;
    *keep = list;
    return 0;
fail:
    Py_DECREF(list);
    PyMem_Free(w);
    return -1;
}

void slm_py_weights_free(slm_weight *w, PyObject *keep) {
    PyMem_Free(w);
    Py_XDECREF(keep);
}

PyObject *slm_py_handle_new(void *handle, const char *name, PyCapsule_Destructor destroy) {
    PyObject *cap = PyCapsule_New(handle, name, destroy);
    return cap;
}

void *slm_py_handle_get(PyObject *cap, const char *name, const char *fn) {
    if (!PyCapsule_IsValid(cap, name)) {
        PyErr_Format(PyExc_TypeError, "%s: expected a %s handle, got %s", fn, name, Py_TYPE(cap)->tp_name);
        return NULL;
    }
    return PyCapsule_GetPointer(cap, name);
}

/* _nn_encoder_layer(x (B, T, C), weights, heads, pre_norm, eps, lengths=None, bias=None)
 * weights: ln1.weight ln1.bias qkv.weight (3C, C) qkv.bias o.weight o.bias ln2.weight
 * ln2.bias fc1.weight (F, C) fc1.bias fc2.weight (C, F) fc2.bias */
static PyObject *py_nn_encoder_layer(PyObject *self, PyObject *args, PyObject *kwargs) {
    static char *kw[] = {"x", "weights", "heads", "pre_norm", "eps", "lengths", "bias", "bf16", NULL};
    static const char fn[] = "_nn_encoder_layer";
    PyObject *x_o, *w_o, *len_o = Py_None, *bias_o = Py_None, *keep = NULL;
    long long H;
    int pre, bf16 = 0;
    float eps;
    uint16_t *w16 = NULL;
    PyArrayObject *x = NULL, *out = NULL, *len = NULL, *bias = NULL;
    slm_weight *w = NULL;
    int64_t nw = 0;
    float *work = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOLpf|OOp:_nn_encoder_layer", kw, &x_o, &w_o, &H, &pre,
                                     &eps, &len_o, &bias_o, &bf16))
        return NULL;
    if (!(x = slm_py_float_array(x_o, fn, "x", 3, 3))) goto fail;
    if (slm_py_weights_from_dict(w_o, fn, &w, &nw, &keep)) goto fail;
    int64_t B = PyArray_DIM(x, 0), T = PyArray_DIM(x, 1), C = PyArray_DIM(x, 2);
    if (H < 1 || C % H) {
        PyErr_Format(PyExc_ValueError, "%s: heads must divide C=%lld, got %lld", fn, (long long)C, H);
        goto fail;
    }
    slm_wset ws = {w, nw, fn};
    const slm_weight *fc1 = slm_wset_find(&ws, "fc1.weight");
    int64_t F = fc1 && fc1->ndim == 2 ? fc1->shape[0] : 0;
    slm_nn_encoder_layer l = {C, H, F, pre, eps, SLM_ACT_GELU};
    slm_status st = SLM_OK;
    int64_t c1[1] = {C}, c3[1] = {3 * C}, f1[1] = {F}, qkv[2] = {3 * C, C}, cc[2] = {C, C},
            fc[2] = {F, C}, cf[2] = {C, F};
    if ((st = slm_wset_get(&ws, &l.ln1_w, 1, c1, "ln1.weight")) ||
        (st = slm_wset_get(&ws, &l.ln1_b, 1, c1, "ln1.bias")) ||
        (st = slm_wset_get(&ws, &l.wqkv, 2, qkv, "qkv.weight")) ||
        (st = slm_wset_get(&ws, &l.bqkv, 1, c3, "qkv.bias")) ||
        (st = slm_wset_get(&ws, &l.wo, 2, cc, "o.weight")) ||
        (st = slm_wset_get(&ws, &l.bo, 1, c1, "o.bias")) ||
        (st = slm_wset_get(&ws, &l.ln2_w, 1, c1, "ln2.weight")) ||
        (st = slm_wset_get(&ws, &l.ln2_b, 1, c1, "ln2.bias")) ||
        (st = slm_wset_get(&ws, &l.w1, 2, fc, "fc1.weight")) ||
        (st = slm_wset_get(&ws, &l.b1, 1, f1, "fc1.bias")) ||
        (st = slm_wset_get(&ws, &l.w2, 2, cf, "fc2.weight")) ||
        (st = slm_wset_get(&ws, &l.b2, 1, c1, "fc2.bias"))) {
        slm_py_raise(st);
        goto fail;
    }
    if (len_o != Py_None) {
        if (!(len = slm_py_index_array(len_o, fn, "lengths", 1, 1))) goto fail;
        if (PyArray_DIM(len, 0) != B) {
            PyErr_Format(PyExc_ValueError, "%s: lengths must have B=%lld entries", fn, (long long)B);
            goto fail;
        }
    }
    if (bias_o != Py_None) {
        if (!(bias = slm_py_float_array(bias_o, fn, "bias", 4, 4))) goto fail;
        if (PyArray_DIM(bias, 0) != B || PyArray_DIM(bias, 1) != H || PyArray_DIM(bias, 2) != T ||
            PyArray_DIM(bias, 3) != T) {
            PyErr_Format(PyExc_ValueError, "%s: bias must be (B, H, T, T), got %s", fn, slm_py_shape_str(bias));
            goto fail;
        }
    }
    if (bf16) { /* weight-only bf16 copies of the four projections */
        w16 = (uint16_t *)slm_alloc((size_t)(4 * C * C + 2 * C * F) * sizeof(uint16_t));
        if (!w16) {
            slm_py_raise(SLM_ERR_NOMEM);
            goto fail;
        }
        slm_f32_to_bf16(w16, l.wqkv, 3 * C * C);
        slm_f32_to_bf16(w16 + 3 * C * C, l.wo, C * C);
        slm_f32_to_bf16(w16 + 4 * C * C, l.w1, C * F);
        slm_f32_to_bf16(w16 + 4 * C * C + C * F, l.w2, C * F);
        l.wqkv16 = w16;
        l.wo16 = w16 + 3 * C * C;
        l.w1_16 = w16 + 4 * C * C;
        l.w2_16 = w16 + 4 * C * C + C * F;
    }
    int64_t shape[3] = {B, T, C};
    if (!(out = slm_py_new_f32(3, shape, fn))) goto fail;
    memcpy(PyArray_DATA(out), PyArray_DATA(x), (size_t)(B * T * C) * sizeof(float));
    work = (float *)slm_alloc((size_t)slm_nn_encoder_layer_work(B, T, C, F) * sizeof(float));
    if (!work) {
        slm_py_raise(SLM_ERR_NOMEM);
        goto fail;
    }
    SLM_PY_COMPUTE(st, slm_nn_encoder_layer_f32((float *)PyArray_DATA(out), &l, B, T,
                                                len ? (const int64_t *)PyArray_DATA(len) : NULL,
                                                bias ? (const float *)PyArray_DATA(bias) : NULL, work));
    if (st) {
        slm_py_raise(st);
        goto fail;
    }
    slm_free(work);
    slm_free(w16);
    slm_py_weights_free(w, keep);
    Py_DECREF(x);
    Py_XDECREF(len);
    Py_XDECREF(bias);
    return (PyObject *)out;
fail:
    slm_free(work);
    slm_free(w16);
    slm_py_weights_free(w, keep);
    Py_XDECREF(x);
    Py_XDECREF(len);
    Py_XDECREF(bias);
    Py_XDECREF(out);
    return NULL;
}

PyMethodDef slm_py_models_methods[] = {
    {"_nn_encoder_layer", (PyCFunction)(void (*)(void))py_nn_encoder_layer, METH_VARARGS | METH_KEYWORDS,
     "_nn_encoder_layer(x, weights, heads, pre_norm, eps, lengths=None, bias=None, bf16=False): one "
     "Transformer encoder layer (csrc/nn), for tests; bf16 runs the projections with weight-only bf16"},
    {NULL, NULL, 0, NULL}};
