/* features.c: glue for feature front ends (slm.features): mel filterbanks, the mel
 * spectrogram engine behind the Whisper/HiFi-GAN/Vocos/torchaudio/librosa front ends and
 * MFCC, Kaldi fbank, waveform normalisation. Python builds the option values (names and
 * defaults of each reference); this file only converts, checks shapes and calls C. */
#include "glue.h"

#include "../runtime/runtime.h"

/* mel_filterbank(sr, n_fft, n_mels, fmin, fmax, htk, norm) -> ((M, F) array, n_empty) */
static PyObject *py_mel_filterbank(PyObject *self, PyObject *args) {
    static const char fn[] = "mel_filterbank";
    double sr, fmin, fmax;
    long long n_fft, n_mels;
    int htk, norm;
    if (!PyArg_ParseTuple(args, "dLLddpp:mel_filterbank", &sr, &n_fft, &n_mels, &fmin, &fmax, &htk, &norm)) return NULL;
    if (n_fft < 1) return PyErr_Format(PyExc_ValueError, "%s: n_fft must be >= 1, got %lld", fn, n_fft);
    int64_t shape[2] = {n_mels < 0 ? 0 : n_mels, n_fft / 2 + 1};
    if (n_mels < 1) return PyErr_Format(PyExc_ValueError, "%s: n_mels must be >= 1, got %lld", fn, n_mels);
    PyArrayObject *out = slm_py_new_f32(2, shape, fn);
    if (!out) return NULL;
    int64_t empty = 0;
    slm_status st;
    SLM_PY_COMPUTE(st, slm_mel_filterbank((float *)PyArray_DATA(out), sr, n_fft, n_mels, fmin, fmax, htk, norm, &empty));
    if (st) {
        Py_DECREF(out);
        return slm_py_raise(st);
    }
    return Py_BuildValue("(NL)", out, (long long)empty);
}

/* melscale_fbanks(n_freqs, f_min, f_max, n_mels, sample_rate, norm, htk) -> ((F, M), n_empty) */
static PyObject *py_melscale_fbanks(PyObject *self, PyObject *args) {
    static const char fn[] = "melscale_fbanks";
    double f_min, f_max, sr;
    long long n_freqs, n_mels;
    int htk, norm;
    if (!PyArg_ParseTuple(args, "LddLdpp:melscale_fbanks", &n_freqs, &f_min, &f_max, &n_mels, &sr, &norm, &htk))
        return NULL;
    if (n_freqs < 1 || n_mels < 1)
        return PyErr_Format(PyExc_ValueError, "%s: n_freqs (%lld) and n_mels (%lld) must be >= 1", fn, n_freqs, n_mels);
    int64_t shape[2] = {n_freqs, n_mels};
    PyArrayObject *out = slm_py_new_f32(2, shape, fn);
    if (!out) return NULL;
    int64_t empty = 0;
    slm_status st;
    SLM_PY_COMPUTE(st, slm_melscale_fbanks((float *)PyArray_DATA(out), n_freqs, f_min, f_max, n_mels, sr, norm, htk, &empty));
    if (st) {
        Py_DECREF(out);
        return slm_py_raise(st);
    }
    return Py_BuildValue("(NL)", out, (long long)empty);
}

/* dct_matrix(n_mfcc, n_mels, ortho) -> (Q, M) */
static PyObject *py_dct_matrix(PyObject *self, PyObject *args) {
    static const char fn[] = "dct_matrix";
    long long q, m;
    int ortho;
    if (!PyArg_ParseTuple(args, "LLp:dct_matrix", &q, &m, &ortho)) return NULL;
    if (q < 1 || m < 1 || q > m)
        return PyErr_Format(PyExc_ValueError, "%s: need 1 <= n_mfcc (%lld) <= n_mels (%lld)", fn, q, m);
    int64_t shape[2] = {q, m};
    PyArrayObject *out = slm_py_new_f32(2, shape, fn);
    if (!out) return NULL;
    slm_status st = slm_dct_matrix((float *)PyArray_DATA(out), q, m, ortho);
    if (st) {
        Py_DECREF(out);
        return slm_py_raise(st);
    }
    return (PyObject *)out;
}

/* leading dims of x (..., L) collapsed: B; returns L */
static int64_t batch_of(PyArrayObject *x, int64_t *B) {
    int nd = PyArray_NDIM(x);
    int64_t b = 1;
    for (int i = 0; i < nd - 1; i++) b *= PyArray_DIM(x, i);
    *B = b;
    return PyArray_DIM(x, nd - 1);
}

/* melspec(x (..., L), mel (M, F), **options) -> (..., Q or M, T) */
static PyObject *py_melspec(PyObject *self, PyObject *args, PyObject *kwargs) {
    static char *kw[] = {"x", "mel", "n_fft", "hop_length", "win_length", "window", "window_data", "pad0_left",
                         "pad0_right", "pad1_left", "pad1_right", "pad1_mode", "center", "center_mode", "drop_last",
                         "spec_scale", "power", "mag_eps", "log_kind", "log_floor", "log_offset", "db_mult", "db_ref",
                         "top_db", "top_db_group", "whisper_norm", "dct", "fn", NULL};
    const char *fname = "melspec";
    PyObject *x_o, *mel_o, *win_o = Py_None, *dct_o = Py_None;
    long long n_fft, hop, win, pad0l = 0, pad0r = 0, pad1l = 0, pad1r = 0, group = 0;
    int window = 0, pad1_mode = 1, center = 1, center_mode = 1, drop_last = 0, log_kind = 0, whisper = 0;
    double spec_scale = 1.0, power = 2.0, mag_eps = 0.0, log_floor = 1e-10, log_offset = 0.0, db_mult = 10.0,
           db_ref = 1.0, top_db = -1.0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOLLL|iOLLLLipipdddidddddLpOs:melspec", kw, &x_o, &mel_o, &n_fft,
                                     &hop, &win, &window, &win_o, &pad0l, &pad0r, &pad1l, &pad1r, &pad1_mode, &center,
                                     &center_mode, &drop_last, &spec_scale, &power, &mag_eps, &log_kind, &log_floor,
                                     &log_offset, &db_mult, &db_ref, &top_db, &group, &whisper, &dct_o, &fname))
        return NULL;
    PyArrayObject *x = NULL, *mel = NULL, *w = NULL, *dct = NULL, *out = NULL;
    x = slm_py_float_array(x_o, fname, "audio", 1, NPY_MAXDIMS - 1);
    if (!x) goto fail;
    mel = slm_py_float_array(mel_o, fname, "mel", 2, 2);
    if (!mel) goto fail;
    if (slm_py_optional_float_array(win_o, fname, "window", 1, 1, &w) < 0) goto fail;
    if (slm_py_optional_float_array(dct_o, fname, "dct", 2, 2, &dct) < 0) goto fail;
    slm_melspec_params p = slm_melspec_default_params();
    p.n_fft = n_fft;
    p.hop_length = hop;
    p.win_length = win;
    p.window = (slm_fe_window)window;
    p.pad0_left = pad0l;
    p.pad0_right = pad0r;
    p.pad1_left = pad1l;
    p.pad1_right = pad1r;
    p.pad1_mode = (slm_fe_pad_mode)pad1_mode;
    p.center = center;
    p.center_mode = (slm_fe_pad_mode)center_mode;
    p.drop_last = drop_last;
    p.spec_scale = spec_scale;
    p.power = power;
    p.mag_eps = mag_eps;
    p.log_kind = (slm_mellog_kind)log_kind;
    p.log_floor = log_floor;
    p.log_offset = log_offset;
    p.db_mult = db_mult;
    p.db_ref = db_ref;
    p.top_db = top_db;
    p.top_db_group = group;
    p.whisper_norm = whisper;
    p.mel = (const float *)PyArray_DATA(mel);
    p.n_mels = PyArray_DIM(mel, 0);
    if (n_fft >= 1 && PyArray_DIM(mel, 1) != n_fft / 2 + 1) {
        PyErr_Format(PyExc_ValueError, "%s: the filterbank has %lld frequency bins, n_fft=%lld needs %lld", fname,
                     (long long)PyArray_DIM(mel, 1), n_fft, n_fft / 2 + 1);
        goto fail;
    }
    if (w) {
        if (PyArray_DIM(w, 0) != win) {
            PyErr_Format(PyExc_ValueError, "%s: the window has %lld samples, win_length is %lld", fname,
                         (long long)PyArray_DIM(w, 0), win);
            goto fail;
        }
        p.window_data = (const float *)PyArray_DATA(w);
    }
    if (dct) {
        if (PyArray_DIM(dct, 1) != p.n_mels) {
            PyErr_Format(PyExc_ValueError, "%s: the DCT matrix has %lld columns, n_mels is %lld", fname,
                         (long long)PyArray_DIM(dct, 1), (long long)p.n_mels);
            goto fail;
        }
        p.dct = (const float *)PyArray_DATA(dct);
        p.n_dct = PyArray_DIM(dct, 0);
    }
    int64_t B, T, L = batch_of(x, &B);
    slm_status st = slm_melspec_frames(&T, L, &p, fname);
    if (st) {
        slm_py_raise(st);
        goto fail;
    }
    if (B == 0) {
        PyErr_Format(PyExc_ValueError, "%s: the audio batch is empty (shape %s)", fname, slm_py_shape_str(x));
        goto fail;
    }
    int nd = PyArray_NDIM(x);
    int64_t shape[NPY_MAXDIMS];
    for (int i = 0; i < nd - 1; i++) shape[i] = PyArray_DIM(x, i);
    shape[nd - 1] = dct ? p.n_dct : p.n_mels;
    shape[nd] = T;
    out = slm_py_new_f32(nd + 1, shape, fname);
    if (!out) goto fail;
    SLM_PY_COMPUTE(st, slm_melspec_f32((float *)PyArray_DATA(out), (const float *)PyArray_DATA(x), B, L, &p, fname));
    if (st) {
        slm_py_raise(st);
        goto fail;
    }
    Py_DECREF(x);
    Py_DECREF(mel);
    Py_XDECREF(w);
    Py_XDECREF(dct);
    return (PyObject *)out;
fail:
    Py_XDECREF(x);
    Py_XDECREF(mel);
    Py_XDECREF(w);
    Py_XDECREF(dct);
    Py_XDECREF(out);
    return NULL;
}

/* whisper_log_mel(audio (..., L), n_mels, padding) -> (..., M, T) */
static PyObject *py_whisper_log_mel(PyObject *self, PyObject *args) {
    static const char fn[] = "whisper_log_mel";
    PyObject *x_o;
    long long n_mels, padding;
    if (!PyArg_ParseTuple(args, "OLL:whisper_log_mel", &x_o, &n_mels, &padding)) return NULL;
    PyArrayObject *x = slm_py_float_array(x_o, fn, "audio", 1, NPY_MAXDIMS - 1), *out = NULL;
    if (!x) return NULL;
    int64_t B, L = batch_of(x, &B);
    if (n_mels != 80 && n_mels != 128) {
        PyErr_Format(PyExc_ValueError, "%s: n_mels must be 80 or 128 (as openai-whisper), got %lld", fn, n_mels);
        goto fail;
    }
    if (padding < 0 || padding > ((long long)1 << 40)) {
        PyErr_Format(PyExc_ValueError, "%s: padding must lie in [0, 2^40], got %lld", fn, padding);
        goto fail;
    }
    if (B == 0 || L == 0) {
        PyErr_Format(PyExc_ValueError, "%s: the audio is empty (shape %s)", fn, slm_py_shape_str(x));
        goto fail;
    }
    if (L + padding <= 200) {
        PyErr_Format(PyExc_ValueError,
                     "%s: the audio has %lld samples (with padding); the centre reflect padding needs more than 200", fn,
                     (long long)(L + padding));
        goto fail;
    }
    int nd = PyArray_NDIM(x);
    int64_t shape[NPY_MAXDIMS];
    for (int i = 0; i < nd - 1; i++) shape[i] = PyArray_DIM(x, i);
    shape[nd - 1] = n_mels;
    shape[nd] = (L + padding) / 160;
    out = slm_py_new_f32(nd + 1, shape, fn);
    if (!out) goto fail;
    slm_status st;
    SLM_PY_COMPUTE(st, slm_whisper_log_mel_f32((float *)PyArray_DATA(out), (const float *)PyArray_DATA(x), B, L, n_mels,
                                               padding));
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

/* kaldi_fbank(wave (L), **options) -> (T, D) */
static PyObject *py_kaldi_fbank(PyObject *self, PyObject *args, PyObject *kwargs) {
    static const char fn[] = "kaldi_fbank";
    static char *kw[] = {"waveform", "blackman_coeff", "energy_floor", "frame_length", "frame_shift", "high_freq",
                         "low_freq", "num_mel_bins", "preemphasis_coefficient", "raw_energy", "remove_dc_offset",
                         "round_to_power_of_two", "sample_frequency", "snip_edges", "subtract_mean", "use_energy",
                         "use_log_fbank", "use_power", "htk_compat", "window_type", NULL};
    slm_kaldi_fbank_params p = slm_kaldi_fbank_default_params();
    PyObject *x_o;
    long long nmb = p.num_mel_bins;
    int wt = (int)p.window_type;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|ddddddLdpppdppppppi:kaldi_fbank", kw, &x_o, &p.blackman_coeff,
                                     &p.energy_floor, &p.frame_length_ms, &p.frame_shift_ms, &p.high_freq, &p.low_freq,
                                     &nmb, &p.preemphasis_coefficient, &p.raw_energy, &p.remove_dc_offset,
                                     &p.round_to_power_of_two, &p.sample_frequency, &p.snip_edges, &p.subtract_mean,
                                     &p.use_energy, &p.use_log_fbank, &p.use_power, &p.htk_compat, &wt))
        return NULL;
    p.num_mel_bins = nmb;
    p.window_type = (slm_kaldi_window)wt;
    PyArrayObject *x = slm_py_float_array(x_o, fn, "waveform", 1, 1), *out = NULL;
    if (!x) return NULL;
    int64_t T, D, L = PyArray_DIM(x, 0);
    slm_status st = slm_kaldi_fbank_shape(&T, &D, L, &p);
    if (st) {
        slm_py_raise(st);
        goto fail;
    }
    int64_t shape[2] = {T, D};
    out = slm_py_new_f32(2, shape, fn);
    if (!out) goto fail;
    SLM_PY_COMPUTE(st, slm_kaldi_fbank_f32((float *)PyArray_DATA(out), (const float *)PyArray_DATA(x), L, &p));
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

/* zero_mean_unit_var_norm(x (B, L), lengths (B) int or None, padding_value) -> (B, L) */
static PyObject *py_zmuv(PyObject *self, PyObject *args) {
    static const char fn[] = "zero_mean_unit_var_norm";
    PyObject *x_o, *len_o;
    double pad;
    if (!PyArg_ParseTuple(args, "OOd:zero_mean_unit_var_norm", &x_o, &len_o, &pad)) return NULL;
    PyArrayObject *x = slm_py_float_array(x_o, fn, "input_values", 2, 2), *len = NULL, *out = NULL;
    if (!x) return NULL;
    if (len_o != Py_None) {
        len = slm_py_index_array(len_o, fn, "lengths", 1, 1);
        if (!len) goto fail;
        if (PyArray_DIM(len, 0) != PyArray_DIM(x, 0)) {
            PyErr_Format(PyExc_ValueError, "%s: %lld lengths for a batch of %lld", fn, (long long)PyArray_DIM(len, 0),
                         (long long)PyArray_DIM(x, 0));
            goto fail;
        }
    }
    int64_t shape[2] = {PyArray_DIM(x, 0), PyArray_DIM(x, 1)};
    out = slm_py_new_f32(2, shape, fn);
    if (!out) goto fail;
    slm_status st;
    SLM_PY_COMPUTE(st, slm_zero_mean_unit_var_norm_f32((float *)PyArray_DATA(out), (const float *)PyArray_DATA(x),
                                                       len ? (const int64_t *)PyArray_DATA(len) : NULL, shape[0],
                                                       shape[1], (float)pad));
    if (st) {
        slm_py_raise(st);
        goto fail;
    }
    Py_DECREF(x);
    Py_XDECREF(len);
    return (PyObject *)out;
fail:
    Py_XDECREF(x);
    Py_XDECREF(len);
    Py_XDECREF(out);
    return NULL;
}

PyMethodDef slm_py_features_methods[] = {
    {"mel_filterbank", py_mel_filterbank, METH_VARARGS,
     "mel_filterbank(sr, n_fft, n_mels, fmin, fmax, htk, norm) -> ((M, F), n_empty)"},
    {"melscale_fbanks", py_melscale_fbanks, METH_VARARGS,
     "melscale_fbanks(n_freqs, f_min, f_max, n_mels, sample_rate, norm, htk) -> ((F, M), n_empty)"},
    {"dct_matrix", py_dct_matrix, METH_VARARGS, "dct_matrix(n_mfcc, n_mels, ortho) -> (Q, M)"},
    {"melspec", (PyCFunction)(void (*)(void))py_melspec, METH_VARARGS | METH_KEYWORDS,
     "melspec(x, mel, n_fft, hop_length, win_length, **options) -> (..., M or Q, T)"},
    {"whisper_log_mel", py_whisper_log_mel, METH_VARARGS, "whisper_log_mel(audio, n_mels, padding) -> (..., M, T)"},
    {"kaldi_fbank", (PyCFunction)(void (*)(void))py_kaldi_fbank, METH_VARARGS | METH_KEYWORDS,
     "kaldi_fbank(waveform (L), **options) -> (T, D)"},
    {"zero_mean_unit_var_norm", py_zmuv, METH_VARARGS, "zero_mean_unit_var_norm(x (B, L), lengths, padding_value)"},
    {NULL, NULL, 0, NULL}};
