/* audio.c: glue for audio file I/O through libsndfile and for resampling (slm.audio).
 *
 * An open file is a capsule around slm_audio_file plus the Python object it borrows
 * from (the bytes of an in-memory file) and a busy flag: reads run without the GIL, so
 * a second thread using the same handle at the same time gets a RuntimeError instead of
 * racing inside libsndfile. The capsule's destructor closes the file, so a stream that
 * is dropped or broken out of never leaks its handle.
 */
#include "glue.h"

#include <string.h>

#include "../runtime/runtime.h"

static const char CAP_NAME[] = "slm.audio_file";

typedef struct {
    slm_audio_file *f; /* NULL once closed */
    PyObject *keep;    /* the buffer an in-memory file reads from (or NULL) */
    int busy;
} handle;

static void cap_destroy(PyObject *cap) {
    handle *h = (handle *)PyCapsule_GetPointer(cap, CAP_NAME);
    if (!h) {
        PyErr_Clear();
        return;
    }
    slm_audio_close(h->f);
    Py_XDECREF(h->keep);
    PyMem_Free(h);
}

static PyObject *wrap(slm_audio_file *f, PyObject *keep) {
    handle *h = (handle *)PyMem_Malloc(sizeof(handle));
    if (!h) {
        slm_audio_close(f);
        return PyErr_NoMemory();
    }
    h->f = f;
    h->keep = keep;
    Py_XINCREF(keep);
    h->busy = 0;
    PyObject *cap = PyCapsule_New(h, CAP_NAME, cap_destroy);
    if (!cap) {
        slm_audio_close(f);
        Py_XDECREF(keep);
        PyMem_Free(h);
    }
    return cap;
}

/* the open handle of a capsule, marked busy; NULL with an exception set */
static handle *take(PyObject *cap) {
    handle *h = (handle *)PyCapsule_GetPointer(cap, CAP_NAME);
    if (!h) return NULL;
    if (!h->f) {
        PyErr_SetString(PyExc_ValueError, "I/O operation on a closed audio file");
        return NULL;
    }
    if (h->busy) {
        PyErr_SetString(PyExc_RuntimeError, "this audio file is being read by another thread");
        return NULL;
    }
    h->busy = 1;
    return h;
}

/* audio_open(path) -> handle; path str/bytes/os.PathLike */
static PyObject *py_audio_open(PyObject *self, PyObject *args) {
    PyObject *pathb = NULL;
    if (!PyArg_ParseTuple(args, "O&:audio_open", PyUnicode_FSConverter, &pathb)) return NULL;
    slm_audio_file *f = NULL;
    slm_status st;
    const char *p = PyBytes_AS_STRING(pathb);
    SLM_PY_COMPUTE(st, slm_audio_open(&f, p));
    Py_DECREF(pathb);
    if (st) return slm_py_raise(st);
    return wrap(f, NULL);
}

/* audio_open_bytes(buffer, name) -> handle reading from a bytes-like object (kept alive) */
static PyObject *py_audio_open_bytes(PyObject *self, PyObject *args) {
    PyObject *obj;
    const char *name;
    if (!PyArg_ParseTuple(args, "Os:audio_open_bytes", &obj, &name)) return NULL;
    if (!PyBytes_Check(obj)) {
        PyErr_SetString(PyExc_TypeError, "audio_open_bytes: expected bytes");
        return NULL;
    }
    slm_audio_file *f = NULL;
    slm_status st;
    const char *data = PyBytes_AS_STRING(obj);
    int64_t size = (int64_t)PyBytes_GET_SIZE(obj);
    SLM_PY_COMPUTE(st, slm_audio_open_memory(&f, data, size, name));
    if (st) return slm_py_raise(st);
    return wrap(f, obj);
}

/* audio_file_info(handle) -> (frames, rate, channels, format, seekable, major, subtype, truncated) */
static PyObject *py_audio_file_info(PyObject *self, PyObject *cap) {
    handle *h = take(cap);
    if (!h) return NULL;
    slm_audio_info info;
    slm_status st = slm_audio_get_info(&info, h->f);
    h->busy = 0;
    if (st) return slm_py_raise(st);
    return Py_BuildValue("(Liiiissi)", (long long)info.frames, info.sample_rate, info.channels, info.format,
                         info.seekable, info.major_name, info.subtype_name, info.truncated);
}

static PyObject *py_audio_seek(PyObject *self, PyObject *args) {
    PyObject *cap;
    long long frame;
    if (!PyArg_ParseTuple(args, "OL:audio_seek", &cap, &frame)) return NULL;
    handle *h = take(cap);
    if (!h) return NULL;
    slm_status st;
    SLM_PY_COMPUTE(st, slm_audio_seek(h->f, (int64_t)frame));
    h->busy = 0;
    if (st) return slm_py_raise(st);
    Py_RETURN_NONE;
}

/* audio_read(handle, n, mono) -> (array, nread): array (n,) if mono else (C, n); only
 * the first nread frames are data */
static PyObject *py_audio_read(PyObject *self, PyObject *args) {
    PyObject *cap;
    long long n;
    int mono;
    if (!PyArg_ParseTuple(args, "OLp:audio_read", &cap, &n, &mono)) return NULL;
    if (n < 0) {
        PyErr_Format(PyExc_ValueError, "audio_read: negative frame count %lld", n);
        return NULL;
    }
    handle *h = take(cap);
    if (!h) return NULL;
    slm_audio_info info;
    slm_audio_get_info(&info, h->f);
    int64_t shape[2] = {info.channels, (int64_t)n};
    PyArrayObject *out = mono ? slm_py_new_f32(1, shape + 1, "audio_read") : slm_py_new_f32(2, shape, "audio_read");
    if (!out) {
        h->busy = 0;
        return NULL;
    }
    int64_t nread = 0;
    slm_status st;
    SLM_PY_COMPUTE(st, slm_audio_read_f32((float *)PyArray_DATA(out), &nread, h->f, (int64_t)n, (int64_t)n, mono));
    h->busy = 0;
    if (st) {
        Py_DECREF(out);
        return slm_py_raise(st);
    }
    return Py_BuildValue("(NL)", (PyObject *)out, (long long)nread);
}

static PyObject *py_audio_close(PyObject *self, PyObject *cap) {
    handle *h = (handle *)PyCapsule_GetPointer(cap, CAP_NAME);
    if (!h) return NULL;
    if (h->busy) {
        PyErr_SetString(PyExc_RuntimeError, "this audio file is being read by another thread");
        return NULL;
    }
    slm_audio_file *f = h->f;
    h->f = NULL;
    slm_audio_close(f);
    Py_CLEAR(h->keep);
    Py_RETURN_NONE;
}

/* audio_write(path, x (C, L), sr, format) */
static PyObject *py_audio_write(PyObject *self, PyObject *args) {
    PyObject *pathb = NULL, *xo;
    int sr, format;
    PyArrayObject *x = NULL;
    if (!PyArg_ParseTuple(args, "O&Oii:audio_write", PyUnicode_FSConverter, &pathb, &xo, &sr, &format)) return NULL;
    x = slm_py_float_array(xo, "save", "audio", 2, 2);
    if (!x) goto fail;
    slm_status st;
    const char *p = PyBytes_AS_STRING(pathb);
    SLM_PY_COMPUTE(st, slm_audio_write_f32(p, (const float *)PyArray_DATA(x), PyArray_DIM(x, 0), PyArray_DIM(x, 1),
                                           sr, format));
    if (st) {
        slm_py_raise(st);
        goto fail;
    }
    Py_DECREF(pathb);
    Py_DECREF(x);
    Py_RETURN_NONE;
fail:
    Py_XDECREF(pathb);
    Py_XDECREF(x);
    return NULL;
}

/* audio_encode(x (C, L), sr, format) -> bytes */
static PyObject *py_audio_encode(PyObject *self, PyObject *args) {
    PyObject *xo;
    int sr, format;
    if (!PyArg_ParseTuple(args, "Oii:audio_encode", &xo, &sr, &format)) return NULL;
    PyArrayObject *x = slm_py_float_array(xo, "encode", "audio", 2, 2);
    if (!x) return NULL;
    void *data = NULL;
    int64_t size = 0;
    slm_status st;
    SLM_PY_COMPUTE(st, slm_audio_encode_f32(&data, &size, (const float *)PyArray_DATA(x), PyArray_DIM(x, 0),
                                            PyArray_DIM(x, 1), sr, format));
    Py_DECREF(x);
    if (st) return slm_py_raise(st);
    PyObject *b = PyBytes_FromStringAndSize((const char *)data, (Py_ssize_t)size);
    slm_audio_free(data);
    return b;
}

/* audio_format_code(name, major) -> int */
static PyObject *py_audio_format_code(PyObject *self, PyObject *args) {
    const char *name;
    int major, code = 0;
    if (!PyArg_ParseTuple(args, "sp:audio_format_code", &name, &major)) return NULL;
    slm_status st = slm_audio_format_code(&code, name, major);
    if (st) return slm_py_raise(st);
    return PyLong_FromLong(code);
}

static PyObject *py_audio_format_ok(PyObject *self, PyObject *args) {
    int format, ch, sr;
    if (!PyArg_ParseTuple(args, "iii:audio_format_ok", &format, &ch, &sr)) return NULL;
    return PyBool_FromLong(slm_audio_format_ok(format, ch, sr));
}

/* audio_format_table(major) -> {name: code} */
static PyObject *py_audio_format_table(PyObject *self, PyObject *args) {
    int major;
    if (!PyArg_ParseTuple(args, "p:audio_format_table", &major)) return NULL;
    PyObject *d = PyDict_New();
    if (!d) return NULL;
    int code;
    const char *name;
    for (int i = 0; (name = slm_audio_format_entry(major, i, &code)) != NULL; i++) {
        PyObject *v = PyLong_FromLong(code);
        if (!v || PyDict_SetItemString(d, name, v) < 0) {
            Py_XDECREF(v);
            Py_DECREF(d);
            return NULL;
        }
        Py_DECREF(v);
    }
    return d;
}

/* resample(x (..., L), orig_sr, new_sr, lowpass_filter_width, rolloff, window, beta) */
static PyObject *py_resample(PyObject *self, PyObject *args) {
    static const char fn[] = "resample";
    PyObject *xo;
    long long orig_sr, new_sr;
    int lw, window;
    double rolloff, beta;
    PyArrayObject *x = NULL, *out = NULL;
    if (!PyArg_ParseTuple(args, "OLLidid:resample", &xo, &orig_sr, &new_sr, &lw, &rolloff, &window, &beta))
        return NULL;
    x = slm_py_float_array(xo, fn, "x", 1, NPY_MAXDIMS);
    if (!x) goto fail;
    int nd = PyArray_NDIM(x);
    int64_t L = PyArray_DIM(x, nd - 1), C = 1, Lout, shape[NPY_MAXDIMS];
    for (int i = 0; i < nd - 1; i++) {
        shape[i] = PyArray_DIM(x, i);
        C *= shape[i];
    }
    slm_status st = slm_resample_length(&Lout, L, orig_sr, new_sr);
    if (st) {
        slm_py_raise(st);
        goto fail;
    }
    shape[nd - 1] = Lout;
    out = slm_py_new_f32(nd, shape, fn);
    if (!out) goto fail;
    slm_resample_params prm = slm_resample_default_params();
    prm.lowpass_filter_width = lw;
    prm.rolloff = rolloff;
    prm.window = (slm_resample_window)window;
    prm.beta = beta;
    SLM_PY_COMPUTE(st, slm_resample_f32((float *)PyArray_DATA(out), (const float *)PyArray_DATA(x), C, L,
                                        (int64_t)orig_sr, (int64_t)new_sr, &prm));
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

PyMethodDef slm_py_audio_methods[] = {
    {"audio_open", py_audio_open, METH_VARARGS, "audio_open(path) -> handle"},
    {"audio_open_bytes", py_audio_open_bytes, METH_VARARGS, "audio_open_bytes(data, name) -> handle"},
    {"audio_file_info", py_audio_file_info, METH_O,
     "audio_file_info(handle) -> (frames, rate, channels, format, seekable, major, subtype, truncated)"},
    {"audio_seek", py_audio_seek, METH_VARARGS, "audio_seek(handle, frame)"},
    {"audio_read", py_audio_read, METH_VARARGS, "audio_read(handle, n, mono) -> (array, nread)"},
    {"audio_close", py_audio_close, METH_O, "audio_close(handle)"},
    {"audio_write", py_audio_write, METH_VARARGS, "audio_write(path, x (C, L), sr, format)"},
    {"audio_encode", py_audio_encode, METH_VARARGS, "audio_encode(x (C, L), sr, format) -> bytes"},
    {"audio_format_code", py_audio_format_code, METH_VARARGS, "audio_format_code(name, major) -> int"},
    {"audio_format_ok", py_audio_format_ok, METH_VARARGS, "audio_format_ok(format, channels, sr) -> bool"},
    {"audio_format_table", py_audio_format_table, METH_VARARGS, "audio_format_table(major) -> {name: code}"},
    {"resample", py_resample, METH_VARARGS,
     "resample(x (..., L), orig_sr, new_sr, lowpass_filter_width, rolloff, window, beta)"},
    {NULL, NULL, 0, NULL}};
