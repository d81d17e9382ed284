/* whisper.c: glue of the Whisper encoder (slm/models/whisper.py): create from a weight
 * dict, forward a mel batch to the hidden states asked for. */
#include "glue.h"

static const char CAP[] = "slm.whisper_encoder";

static void destroy(PyObject *cap) {
    slm_whisper_encoder_free((slm_whisper_encoder *)PyCapsule_GetPointer(cap, CAP));
}

/* _whisper_create(n_mels, n_ctx, n_state, n_head, n_layer, n_ffn, bf16, weights) -> handle */
static PyObject *py_whisper_create(PyObject *self, PyObject *args) {
    static const char fn[] = "whisper_encoder_create";
    slm_whisper_config c = slm_whisper_default_config();
    long long nm, nc, ns, nh, nl, nf;
    int bf16;
    PyObject *w_o, *keep = NULL;
    slm_weight *w = NULL;
    int64_t nw = 0;
    if (!PyArg_ParseTuple(args, "LLLLLLpO:_whisper_create", &nm, &nc, &ns, &nh, &nl, &nf, &bf16, &w_o)) return NULL;
    c.n_mels = nm;
    c.n_ctx = nc;
    c.n_state = ns;
    c.n_head = nh;
    c.n_layer = nl;
    c.n_ffn = nf;
    c.bf16 = bf16;
    if (slm_py_weights_from_dict(w_o, fn, &w, &nw, &keep)) return NULL;
    slm_whisper_encoder *m = NULL;
    slm_status st;
    SLM_PY_COMPUTE(st, slm_whisper_encoder_create(&m, &c, w, nw));
    slm_py_weights_free(w, keep);
    if (st) return slm_py_raise(st);
    PyObject *cap = slm_py_handle_new(m, CAP, destroy);
    if (!cap) slm_whisper_encoder_free(m);
    return cap;
}

/* _whisper_forward(handle, mel (B, M, S), layers) -> [ (B, T, C) per layer ] */
static PyObject *py_whisper_forward(PyObject *self, PyObject *args) {
    static const char fn[] = "whisper_encoder_forward";
    PyObject *cap, *mel_o, *lay_o;
    PyArrayObject *mel = NULL, *lay = NULL;
    PyObject *list = NULL;
    float **outs = NULL;
    if (!PyArg_ParseTuple(args, "OOO:_whisper_forward", &cap, &mel_o, &lay_o)) return NULL;
    slm_whisper_encoder *m = (slm_whisper_encoder *)slm_py_handle_get(cap, CAP, fn);
    if (!m) return NULL;
    slm_whisper_config c = slm_whisper_encoder_config(m);
    if (!(mel = slm_py_float_array(mel_o, fn, "mel", 3, 3))) goto fail;
    if (PyArray_DIM(mel, 1) != c.n_mels) {
        PyErr_Format(PyExc_ValueError, "%s: mel has %lld bins, the model expects %lld", fn,
                     (long long)PyArray_DIM(mel, 1), (long long)c.n_mels);
        goto fail;
    }
    if (!(lay = slm_py_index_array(lay_o, fn, "layers", 1, 1))) goto fail;
    int64_t n = PyArray_DIM(lay, 0), B = PyArray_DIM(mel, 0);
    if (!(list = PyList_New((Py_ssize_t)n))) goto fail;
    outs = (float **)PyMem_Calloc(n ? (size_t)n : 1, sizeof(float *));
    if (!outs) {
        PyErr_NoMemory();
        goto fail;
    }
    int64_t shape[3] = {B, c.n_ctx, c.n_state};
    for (int64_t i = 0; i < n; i++) {
        PyArrayObject *o = slm_py_new_f32(3, shape, fn);
        if (!o) goto fail;
        PyList_SET_ITEM(list, (Py_ssize_t)i, (PyObject *)o);
        outs[i] = (float *)PyArray_DATA(o);
    }
    slm_status st;
    SLM_PY_COMPUTE(st, slm_whisper_encoder_forward(m, outs, (const int64_t *)PyArray_DATA(lay), n,
                                                   (const float *)PyArray_DATA(mel), B, PyArray_DIM(mel, 2)));
    if (st) {
        slm_py_raise(st);
        goto fail;
    }
    PyMem_Free(outs);
    Py_DECREF(mel);
    Py_DECREF(lay);
    return list;
fail:
    PyMem_Free(outs);
    Py_XDECREF(mel);
    Py_XDECREF(lay);
    Py_XDECREF(list);
    return NULL;
}

PyMethodDef slm_py_whisper_methods[] = {
    {"_whisper_create", py_whisper_create, METH_VARARGS,
     "_whisper_create(n_mels, n_ctx, n_state, n_head, n_layer, n_ffn, bf16, weights): a Whisper encoder handle"},
    {"_whisper_forward", py_whisper_forward, METH_VARARGS,
     "_whisper_forward(handle, mel (B, n_mels, 2*n_ctx), layers): list of (B, n_ctx, C) hidden states"},
    {NULL, NULL, 0, NULL}};
