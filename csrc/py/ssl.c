/* ssl.c: glue of the wav2vec2 / HuBERT / WavLM encoder (slm/models/ssl.py): create from a
 * config dict and a weight dict, forward a padded waveform batch to the hidden states
 * asked for. */
#include "glue.h"

static const char CAP[] = "slm.ssl_encoder";

static void destroy(PyObject *cap) { slm_ssl_encoder_free((slm_ssl_encoder *)PyCapsule_GetPointer(cap, CAP)); }

/* cfg[key] as an integer; missing keys keep *out. -1 with an exception on a bad value. */
static int get_int(PyObject *cfg, const char *key, int64_t *out) {
    PyObject *v = PyDict_GetItemString(cfg, key); /* borrowed */
    if (!v) return 0;
    long long x = PyLong_AsLongLong(v);
    if (x == -1 && PyErr_Occurred()) {
        PyErr_Format(PyExc_TypeError, "ssl_encoder_create: config '%s' must be an int", key);
        return -1;
    }
    *out = x;
    return 0;
}

static int get_list(PyObject *cfg, const char *key, int64_t *out, int64_t *n) {
    PyObject *v = PyDict_GetItemString(cfg, key);
    if (!v) return 0;
    PyObject *seq = PySequence_Fast(v, "config list");
    if (!seq) return -1;
    Py_ssize_t k = PySequence_Fast_GET_SIZE(seq);
    if (k < 1 || k > SLM_SSL_MAX_CONV) {
        PyErr_Format(PyExc_ValueError, "ssl_encoder_create: config '%s' must have 1 to %d entries, got %zd", key,
                     SLM_SSL_MAX_CONV, k);
        Py_DECREF(seq);
        return -1;
    }
    for (Py_ssize_t i = 0; i < k; i++) {
        long long x = PyLong_AsLongLong(PySequence_Fast_GET_ITEM(seq, i));
        if (x == -1 && PyErr_Occurred()) {
            PyErr_Format(PyExc_TypeError, "ssl_encoder_create: config '%s' must hold ints", key);
            Py_DECREF(seq);
            return -1;
        }
        out[i] = x;
    }
    Py_DECREF(seq);
    if (*n && *n != k) {
        PyErr_Format(PyExc_ValueError, "ssl_encoder_create: conv_dim, conv_kernel and conv_stride differ in length");
        return -1;
    }
    *n = k;
    return 0;
}

/* _ssl_create(config dict, weights dict) -> handle */
static PyObject *py_ssl_create(PyObject *self, PyObject *args) {
    static const char fn[] = "ssl_encoder_create";
    PyObject *cfg_o, *w_o, *keep = NULL;
    if (!PyArg_ParseTuple(args, "O!O:_ssl_create", &PyDict_Type, &cfg_o, &w_o)) return NULL;
    slm_ssl_config c = slm_ssl_default_config();
    int64_t n = 0, fe_norm = c.fe_norm, conv_bias = c.conv_bias, fp_norm = c.fp_norm, stable = c.stable,
            wavlm = c.wavlm, bf16 = c.bf16;
    double eps = c.eps;
    PyObject *e = PyDict_GetItemString(cfg_o, "eps");
    if (e && (eps = PyFloat_AsDouble(e)) == -1.0 && PyErr_Occurred()) return NULL;
    if (get_list(cfg_o, "conv_dim", c.conv_dim, &n) || get_list(cfg_o, "conv_kernel", c.conv_kernel, &n) ||
        get_list(cfg_o, "conv_stride", c.conv_stride, &n) || get_int(cfg_o, "fe_norm", &fe_norm) ||
        get_int(cfg_o, "conv_bias", &conv_bias) || get_int(cfg_o, "fp_norm", &fp_norm) ||
        get_int(cfg_o, "C", &c.C) || get_int(cfg_o, "H", &c.H) || get_int(cfg_o, "F", &c.F) ||
        get_int(cfg_o, "L", &c.L) || get_int(cfg_o, "stable", &stable) ||
        get_int(cfg_o, "pos_kernel", &c.pos_kernel) || get_int(cfg_o, "pos_groups", &c.pos_groups) ||
        get_int(cfg_o, "wavlm", &wavlm) || get_int(cfg_o, "num_buckets", &c.num_buckets) ||
        get_int(cfg_o, "max_distance", &c.max_distance) || get_int(cfg_o, "bf16", &bf16))
        return NULL;
    if (n) c.n_conv = n;
    c.fe_norm = (slm_ssl_fe_norm)fe_norm;
    c.conv_bias = conv_bias != 0;
    c.fp_norm = fp_norm != 0;
    c.stable = stable != 0;
    c.wavlm = wavlm != 0;
    c.bf16 = bf16 != 0;
    c.eps = (float)eps;
    slm_weight *w = NULL;
    int64_t nw = 0;
    if (slm_py_weights_from_dict(w_o, fn, &w, &nw, &keep)) return NULL;
    slm_ssl_encoder *m = NULL;
    slm_status st;
    SLM_PY_COMPUTE(st, slm_ssl_encoder_create(&m, &c, w, nw));
    slm_py_weights_free(w, keep);
    if (st) return slm_py_raise(st);
    PyObject *cap = slm_py_handle_new(m, CAP, destroy);
    if (!cap) slm_ssl_encoder_free(m);
    return cap;
}

/* _ssl_frames(handle, samples) -> frames */
static PyObject *py_ssl_frames(PyObject *self, PyObject *args) {
    PyObject *cap;
    long long S;
    if (!PyArg_ParseTuple(args, "OL:_ssl_frames", &cap, &S)) return NULL;
    slm_ssl_encoder *m = (slm_ssl_encoder *)slm_py_handle_get(cap, CAP, "ssl_encoder_frames");
    if (!m) return NULL;
    int64_t T = 0;
    slm_status st = slm_ssl_encoder_frames(m, S, &T);
    if (st) return slm_py_raise(st);
    return PyLong_FromLongLong(T);
}

/* _ssl_forward(handle, wav (B, S), lengths or None, layers) -> ([ (B, T, C) ], frames (B,)) */
static PyObject *py_ssl_forward(PyObject *self, PyObject *args) {
    static const char fn[] = "ssl_encoder_forward";
    PyObject *cap, *wav_o, *len_o, *lay_o;
    PyArrayObject *wav = NULL, *len = NULL, *lay = NULL, *flen = NULL;
    PyObject *list = NULL;
    float **outs = NULL;
    if (!PyArg_ParseTuple(args, "OOOO:_ssl_forward", &cap, &wav_o, &len_o, &lay_o)) return NULL;
    slm_ssl_encoder *m = (slm_ssl_encoder *)slm_py_handle_get(cap, CAP, fn);
    if (!m) return NULL;
    slm_ssl_config c = slm_ssl_encoder_config(m);
    if (!(wav = slm_py_float_array(wav_o, fn, "wav", 2, 2))) goto fail;
    int64_t B = PyArray_DIM(wav, 0), S = PyArray_DIM(wav, 1), T = 0;
    if (len_o != Py_None) {
        if (!(len = slm_py_index_array(len_o, fn, "lengths", 1, 1))) goto fail;
        if (PyArray_DIM(len, 0) != B) {
            PyErr_Format(PyExc_ValueError, "%s: lengths has %lld entries for a batch of %lld", fn,
                         (long long)PyArray_DIM(len, 0), (long long)B);
            goto fail;
        }
    }
    if (!(lay = slm_py_index_array(lay_o, fn, "layers", 1, 1))) goto fail;
    slm_status st = slm_ssl_encoder_frames(m, S, &T);
    if (st) {
        slm_py_raise(st);
        goto fail;
    }
    int64_t n = PyArray_DIM(lay, 0);
    npy_intp nb = (npy_intp)B;
    if (!(flen = (PyArrayObject *)PyArray_SimpleNew(1, &nb, NPY_INT64))) goto fail;
    if (!(list = PyList_New((Py_ssize_t)n))) goto fail;
    outs = (float **)PyMem_Calloc(n ? (size_t)n : 1, sizeof(float *));
    if (!outs) {
        PyErr_NoMemory();
        goto fail;
    }
    int64_t shape[3] = {B, T > 0 ? T : 0, c.C};
    for (int64_t i = 0; i < n; i++) {
        PyArrayObject *o = slm_py_new_f32(3, shape, fn);
        if (!o) goto fail;
        PyList_SET_ITEM(list, (Py_ssize_t)i, (PyObject *)o);
        outs[i] = (float *)PyArray_DATA(o);
    }
    SLM_PY_COMPUTE(st, slm_ssl_encoder_forward(m, outs, (const int64_t *)PyArray_DATA(lay), n,
                                               (int64_t *)PyArray_DATA(flen), (const float *)PyArray_DATA(wav),
                                               len ? (const int64_t *)PyArray_DATA(len) : NULL, B, S));
    if (st) {
        slm_py_raise(st);
        goto fail;
    }
    PyMem_Free(outs);
    Py_DECREF(wav);
    Py_XDECREF(len);
    Py_DECREF(lay);
    return Py_BuildValue("NN", list, flen);
fail:
    PyMem_Free(outs);
    Py_XDECREF(wav);
    Py_XDECREF(len);
    Py_XDECREF(lay);
    Py_XDECREF(flen);
    Py_XDECREF(list);
    return NULL;
}

PyMethodDef slm_py_ssl_methods[] = {
    {"_ssl_create", py_ssl_create, METH_VARARGS,
     "_ssl_create(config, weights): a wav2vec2/HuBERT/WavLM encoder handle (config keys as slm_ssl_config)"},
    {"_ssl_frames", py_ssl_frames, METH_VARARGS, "_ssl_frames(handle, samples): frames the front end makes"},
    {"_ssl_forward", py_ssl_forward, METH_VARARGS,
     "_ssl_forward(handle, wav (B, S), lengths or None, layers): ([(B, T, C) per layer], frames (B,)); "
     "layer -1 is the final output"},
    {NULL, NULL, 0, NULL}};
