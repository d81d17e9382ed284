/* sndfile_io.c: audio file reading and writing through libsndfile (slm.audio.load,
 * save, stream, info).
 *
 * A file is read block by block: libsndfile decodes up to SLM_AUDIO_CHUNK interleaved
 * frames into the handle's scratch buffer, which is then split into planar channels or
 * averaged to mono straight into the caller's output, so a read never holds more than
 * one chunk besides its output and an hour-long file can be streamed. Files in memory
 * go through libsndfile's virtual I/O (reads from the caller's bytes; writes into a
 * growing buffer). Every failure is SLM_ERR_IO (or SLM_ERR_VALUE for bad arguments)
 * with the file's name and libsndfile's reason. Built without libsndfile, every entry
 * returns SLM_ERR_BACKEND.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/runtime.h"

#define SLM_AUDIO_CHUNK 4096
#define SLM_AUDIO_MAX_CHANNELS 1024 /* libsndfile's SF_MAX_CHANNELS */

/* ---- format names (soundfile's spelling), built with or without libsndfile ---- */
typedef struct {
    const char *name;
    int code;
} fmt_name;

static const fmt_name majors_[] = {
    {"WAV", 0x010000},  {"AIFF", 0x020000}, {"AU", 0x030000},    {"RAW", 0x040000},  {"PAF", 0x050000},
    {"SVX", 0x060000},  {"NIST", 0x070000}, {"VOC", 0x080000},   {"IRCAM", 0x0A0000}, {"W64", 0x0B0000},
    {"MAT4", 0x0C0000}, {"MAT5", 0x0D0000}, {"PVF", 0x0E0000},   {"XI", 0x0F0000},   {"HTK", 0x100000},
    {"SDS", 0x110000},  {"AVR", 0x120000},  {"WAVEX", 0x130000}, {"SD2", 0x160000},  {"FLAC", 0x170000},
    {"CAF", 0x180000},  {"WVE", 0x190000},  {"OGG", 0x200000},   {"MPC2K", 0x210000}, {"RF64", 0x220000},
    {"MP3", 0x230000},  {NULL, 0}};
static const fmt_name subtypes_[] = {
    {"PCM_S8", 0x0001},       {"PCM_16", 0x0002},       {"PCM_24", 0x0003},       {"PCM_32", 0x0004},
    {"PCM_U8", 0x0005},       {"FLOAT", 0x0006},        {"DOUBLE", 0x0007},       {"ULAW", 0x0010},
    {"ALAW", 0x0011},         {"IMA_ADPCM", 0x0012},    {"MS_ADPCM", 0x0013},     {"GSM610", 0x0020},
    {"VOX_ADPCM", 0x0021},    {"NMS_ADPCM_16", 0x0022}, {"NMS_ADPCM_24", 0x0023}, {"NMS_ADPCM_32", 0x0024},
    {"G721_32", 0x0030},      {"G723_24", 0x0031},      {"G723_40", 0x0032},      {"DWVW_12", 0x0040},
    {"DWVW_16", 0x0041},      {"DWVW_24", 0x0042},      {"DWVW_N", 0x0043},       {"DPCM_8", 0x0050},
    {"DPCM_16", 0x0051},      {"VORBIS", 0x0060},       {"OPUS", 0x0064},         {"ALAC_16", 0x0070},
    {"ALAC_20", 0x0071},      {"ALAC_24", 0x0072},      {"ALAC_32", 0x0073},      {"MPEG_LAYER_I", 0x0080},
    {"MPEG_LAYER_II", 0x0081}, {"MPEG_LAYER_III", 0x0082}, {NULL, 0}};

static const char *code_name(const fmt_name *t, int code) {
    for (; t->name; t++)
        if (t->code == code) return t->name;
    return "UNKNOWN";
}

slm_status slm_audio_format_code(int *code, const char *name, int major) {
    static const char fn[] = "audio_format_code";
    SLM_CHECK(code != NULL && name != NULL, fn, "NULL argument");
    for (const fmt_name *t = major ? majors_ : subtypes_; t->name; t++)
        if (strcmp(t->name, name) == 0) {
            *code = t->code;
            return SLM_OK;
        }
    return slm_error(SLM_ERR_VALUE, fn, "unknown %s '%s'", major ? "format" : "subtype", name);
}

/* the i-th entry of the name tables (for listing them); NULL past the end */
const char *slm_audio_format_entry(int major, int i, int *code) {
    const fmt_name *t = major ? majors_ : subtypes_;
    for (int k = 0; t[k].name; k++)
        if (k == i) {
            *code = t[k].code;
            return t[k].name;
        }
    return NULL;
}

void slm_audio_free(void *data) { free(data); }

#ifdef SLM_HAVE_SNDFILE
#include <sndfile.h>

struct slm_audio_file {
    SNDFILE *sf;
    SF_INFO info;
    char name[1024];
    /* memory source (borrowed) */
    const unsigned char *mem;
    sf_count_t mem_size, mem_pos;
    float *buf; /* (SLM_AUDIO_CHUNK, C) interleaved scratch */
    int truncated;
    int64_t pos; /* frame of the next read (for messages) */
};

/* libsndfile opens a RIFF/AIFF-style file whose data chunk runs past the end of the file
 * without complaint and just reads less; its log then has a line "data : N (should be M)".
 * N = 0 or 0xFFFFFFFF (and values just below) are the placeholders of writers that
 * stream and never patch the header: those files are whole, not truncated. */
static int log_says_truncated(SNDFILE *sf) {
    char log[8192];
    memset(log, 0, sizeof log);
    sf_command(sf, SFC_GET_LOG_INFO, log, (int)sizeof log - 1);
    for (const char *p = log; (p = strstr(p, "(should be")) != NULL; p++) {
        const char *line = p;
        while (line > log && line[-1] != '\n') line--;
        if (strncmp(line, "data", 4) != 0) continue;
        const char *colon = strchr(line, ':');
        if (!colon || colon > p) continue;
        unsigned long long claimed = strtoull(colon + 1, NULL, 10), actual = strtoull(p + 10, NULL, 10);
        if (claimed == 0 || claimed >= 0xFFFFFF00ull) continue;
        if (claimed > actual) return 1;
    }
    return 0;
}

/* ---- virtual I/O over the caller's bytes ---- */
static sf_count_t vr_len(void *u) { return ((slm_audio_file *)u)->mem_size; }
static sf_count_t vr_seek(sf_count_t off, int whence, void *u) {
    slm_audio_file *f = (slm_audio_file *)u;
    sf_count_t p = whence == SEEK_SET ? off : whence == SEEK_CUR ? f->mem_pos + off : f->mem_size + off;
    if (p < 0) p = 0;
    if (p > f->mem_size) p = f->mem_size;
    f->mem_pos = p;
    return p;
}
static sf_count_t vr_read(void *ptr, sf_count_t n, void *u) {
    slm_audio_file *f = (slm_audio_file *)u;
    sf_count_t left = f->mem_size - f->mem_pos;
    if (n > left) n = left;
    if (n > 0) memcpy(ptr, f->mem + f->mem_pos, (size_t)n);
    f->mem_pos += n;
    return n;
}
static sf_count_t vr_write(const void *ptr, sf_count_t n, void *u) { return 0; }
static sf_count_t vr_tell(void *u) { return ((slm_audio_file *)u)->mem_pos; }

static slm_status finish_open(slm_audio_file *f, const char *fn) {
    if (!f->sf) {
        slm_status st = slm_error(SLM_ERR_IO, fn, "cannot read '%s' as audio: %s", f->name, sf_strerror(NULL));
        free(f);
        return st;
    }
    const char *why = NULL;
    if (f->info.channels < 1 || f->info.channels > SLM_AUDIO_MAX_CHANNELS) why = "bad channel count";
    else if (f->info.samplerate <= 0) why = "bad sample rate";
    else if (f->info.frames < 0) why = "unknown length";
    if (why) {
        slm_status st = slm_error(SLM_ERR_IO, fn, "cannot read '%s': %s (channels=%d, rate=%d, frames=%lld)",
                                  f->name, why, f->info.channels, f->info.samplerate, (long long)f->info.frames);
        sf_close(f->sf);
        free(f);
        return st;
    }
    f->truncated = log_says_truncated(f->sf);
    f->buf = (float *)malloc((size_t)SLM_AUDIO_CHUNK * (size_t)f->info.channels * sizeof(float));
    if (!f->buf) {
        slm_status st = slm_error(SLM_ERR_NOMEM, fn, "cannot allocate the read buffer for '%s'", f->name);
        sf_close(f->sf);
        free(f);
        return st;
    }
    return SLM_OK;
}

static slm_audio_file *new_handle(const char *name) {
    slm_audio_file *f = (slm_audio_file *)calloc(1, sizeof(*f));
    if (f) snprintf(f->name, sizeof f->name, "%s", name ? name : "<memory>");
    return f;
}

slm_status slm_audio_open(slm_audio_file **out, const char *path) {
    static const char fn[] = "audio_open";
    SLM_CHECK(out != NULL && path != NULL, fn, "NULL argument");
    *out = NULL;
    slm_audio_file *f = new_handle(path);
    if (!f) return slm_error(SLM_ERR_NOMEM, fn, "out of memory");
    f->sf = sf_open(path, SFM_READ, &f->info);
    SLM_TRY(finish_open(f, fn));
    *out = f;
    return SLM_OK;
}

slm_status slm_audio_open_memory(slm_audio_file **out, const void *data, int64_t size, const char *name) {
    static const char fn[] = "audio_open";
    SLM_CHECK(out != NULL && (data != NULL || size == 0) && size >= 0, fn, "bad buffer");
    *out = NULL;
    slm_audio_file *f = new_handle(name);
    if (!f) return slm_error(SLM_ERR_NOMEM, fn, "out of memory");
    f->mem = (const unsigned char *)data;
    f->mem_size = size;
    SF_VIRTUAL_IO vio = {vr_len, vr_seek, vr_read, vr_write, vr_tell};
    f->sf = sf_open_virtual(&vio, SFM_READ, &f->info, f);
    SLM_TRY(finish_open(f, fn));
    *out = f;
    return SLM_OK;
}

slm_status slm_audio_get_info(slm_audio_info *out, const slm_audio_file *f) {
    SLM_CHECK(out != NULL && f != NULL, "audio_info", "NULL argument");
    memset(out, 0, sizeof *out);
    out->frames = f->info.frames;
    out->sample_rate = f->info.samplerate;
    out->channels = f->info.channels;
    out->format = f->info.format;
    out->seekable = f->info.seekable;
    out->truncated = f->truncated;
    snprintf(out->major_name, sizeof out->major_name, "%s", code_name(majors_, f->info.format & SF_FORMAT_TYPEMASK));
    snprintf(out->subtype_name, sizeof out->subtype_name, "%s",
             code_name(subtypes_, f->info.format & SF_FORMAT_SUBMASK));
    return SLM_OK;
}

slm_status slm_audio_seek(slm_audio_file *f, int64_t frame) {
    static const char fn[] = "audio_seek";
    SLM_CHECK(f != NULL, fn, "NULL handle");
    SLM_CHECK(frame >= 0 && frame <= f->info.frames, fn, "frame %lld is outside '%s' (%lld frames)",
              (long long)frame, f->name, (long long)f->info.frames);
    if (frame == 0 && !f->info.seekable) return SLM_OK;
    if (!f->info.seekable) return slm_error(SLM_ERR_IO, fn, "'%s' is not seekable", f->name);
    if (sf_seek(f->sf, frame, SEEK_SET) < 0)
        return slm_error(SLM_ERR_IO, fn, "cannot seek to frame %lld in '%s': %s", (long long)frame, f->name,
                         sf_strerror(f->sf));
    f->pos = frame;
    return SLM_OK;
}

/* out (C, stride) planar or (n,) mono = the next n frames of f */
slm_status slm_audio_read_f32(float *out, int64_t *nread, slm_audio_file *f, int64_t n, int64_t stride,
                              int mono) {
    static const char fn[] = "audio_read";
    SLM_CHECK(f != NULL && nread != NULL, fn, "NULL argument");
    SLM_CHECK(n >= 0, fn, "negative frame count %lld", (long long)n);
    SLM_CHECK(mono || stride >= n, fn, "stride %lld < frames %lld", (long long)stride, (long long)n);
    SLM_CHECK(out != NULL || n == 0, fn, "out is NULL");
    *nread = 0;
    const int C = f->info.channels;
    const float inv = 1.0f / (float)C;
    int64_t done = 0;
    while (done < n) {
        if (slm_interrupted()) return SLM_INTERRUPTED_ERROR(fn);
        sf_count_t want = n - done < SLM_AUDIO_CHUNK ? (sf_count_t)(n - done) : SLM_AUDIO_CHUNK;
        sf_count_t got = sf_readf_float(f->sf, f->buf, want);
        if (got < 0) got = 0;
        const float *b = f->buf;
        if (mono) {
            float *o = out + done;
            if (C == 1) memcpy(o, b, (size_t)got * sizeof(float));
            else
                for (sf_count_t i = 0; i < got; i++) {
                    float s = 0.0f;
                    for (int c = 0; c < C; c++) s += b[i * C + c];
                    o[i] = s * inv;
                }
        } else {
            for (int c = 0; c < C; c++) {
                float *o = out + (int64_t)c * stride + done;
                for (sf_count_t i = 0; i < got; i++) o[i] = b[i * C + c];
            }
        }
        done += got;
        f->pos += got;
        if (got < want) {
            int e = sf_error(f->sf);
            if (e != SF_ERR_NO_ERROR)
                return slm_error(SLM_ERR_IO, fn, "error decoding '%s' at frame %lld: %s", f->name,
                                 (long long)f->pos, sf_error_number(e));
            break;
        }
    }
    *nread = done;
    return SLM_OK;
}

void slm_audio_close(slm_audio_file *f) {
    if (!f) return;
    if (f->sf) sf_close(f->sf);
    free(f->buf);
    free(f);
}

int slm_audio_format_ok(int format, int channels, int sample_rate) {
    if (channels < 1 || channels > SLM_AUDIO_MAX_CHANNELS || sample_rate <= 0) return 0;
    SF_INFO info;
    memset(&info, 0, sizeof info);
    info.format = format;
    info.channels = channels;
    info.samplerate = sample_rate;
    return sf_format_check(&info) ? 1 : 0;
}

/* ---- writing ---- */
typedef struct {
    unsigned char *data;
    sf_count_t size, cap, pos;
    int oom;
} membuf;

static sf_count_t vw_len(void *u) { return ((membuf *)u)->size; }
static sf_count_t vw_seek(sf_count_t off, int whence, void *u) {
    membuf *m = (membuf *)u;
    sf_count_t p = whence == SEEK_SET ? off : whence == SEEK_CUR ? m->pos + off : m->size + off;
    if (p < 0) p = 0;
    m->pos = p;
    return p;
}
static sf_count_t vw_read(void *ptr, sf_count_t n, void *u) {
    membuf *m = (membuf *)u;
    sf_count_t left = m->size - m->pos;
    if (n > left) n = left;
    if (n <= 0) return 0;
    memcpy(ptr, m->data + m->pos, (size_t)n);
    m->pos += n;
    return n;
}
static sf_count_t vw_write(const void *ptr, sf_count_t n, void *u) {
    membuf *m = (membuf *)u;
    sf_count_t end = m->pos + n;
    if (end > m->cap) {
        sf_count_t cap = m->cap ? m->cap : 65536;
        while (cap < end) cap *= 2;
        unsigned char *d = (unsigned char *)realloc(m->data, (size_t)cap);
        if (!d) {
            m->oom = 1;
            return 0;
        }
        m->data = d;
        m->cap = cap;
    }
    if (m->pos > m->size) memset(m->data + m->size, 0, (size_t)(m->pos - m->size));
    memcpy(m->data + m->pos, ptr, (size_t)n);
    m->pos = end;
    if (end > m->size) m->size = end;
    return n;
}
static sf_count_t vw_tell(void *u) { return ((membuf *)u)->pos; }

static slm_status check_write(const char *fn, const char *name, const float *inp, int64_t C, int64_t L,
                              int sample_rate, int format) {
    int64_t total;
    SLM_CHECK(C >= 1 && C <= SLM_AUDIO_MAX_CHANNELS, fn, "'%s': channel count must lie in [1, %d], got %lld",
              name, SLM_AUDIO_MAX_CHANNELS, (long long)C);
    SLM_CHECK(L >= 0, fn, "'%s': negative length %lld", name, (long long)L);
    SLM_CHECK(sample_rate > 0, fn, "'%s': sample rate must be positive, got %d", name, sample_rate);
    SLM_TRY(slm_numel(fn, &total, 2, C, L));
    SLM_CHECK(inp != NULL || total == 0, fn, "inp is NULL");
    if (!slm_audio_format_ok(format, (int)C, sample_rate))
        return slm_error(SLM_ERR_VALUE, fn,
                         "'%s': libsndfile cannot write format %s with subtype %s, %lld channels at %d Hz", name,
                         code_name(majors_, format & SF_FORMAT_TYPEMASK),
                         code_name(subtypes_, format & SF_FORMAT_SUBMASK), (long long)C, sample_rate);
    for (int64_t i = 0; i < total; i++)
        if (!isfinite(inp[i]))
            return slm_error(SLM_ERR_VALUE, fn, "'%s': sample %lld of channel %lld is %g (must be finite)", name,
                             (long long)(i % (L ? L : 1)), (long long)(i / (L ? L : 1)), (double)inp[i]);
    return SLM_OK;
}

/* write inp (C, L) to an open SNDFILE in interleaved chunks */
static slm_status write_frames(SNDFILE *sf, const char *fn, const char *name, const float *inp, int64_t C,
                               int64_t L) {
    float *buf = (float *)malloc((size_t)SLM_AUDIO_CHUNK * (size_t)C * sizeof(float));
    if (!buf) return slm_error(SLM_ERR_NOMEM, fn, "cannot allocate the write buffer for '%s'", name);
    sf_command(sf, SFC_SET_CLIPPING, NULL, SF_TRUE); /* PCM: clip instead of wrapping around */
    slm_status st = SLM_OK;
    for (int64_t done = 0; done < L;) {
        if (slm_interrupted()) {
            st = SLM_INTERRUPTED_ERROR(fn);
            break;
        }
        int64_t n = L - done < SLM_AUDIO_CHUNK ? L - done : SLM_AUDIO_CHUNK;
        for (int64_t c = 0; c < C; c++)
            for (int64_t i = 0; i < n; i++) buf[i * C + c] = inp[c * L + done + i];
        if (sf_writef_float(sf, buf, n) != n) {
            st = slm_error(SLM_ERR_IO, fn, "cannot write '%s': %s", name, sf_strerror(sf));
            break;
        }
        done += n;
    }
    free(buf);
    return st;
}

slm_status slm_audio_write_f32(const char *path, const float *inp, int64_t C, int64_t L, int sample_rate,
                               int format) {
    static const char fn[] = "audio_write";
    SLM_CHECK(path != NULL, fn, "path is NULL");
    SLM_TRY(check_write(fn, path, inp, C, L, sample_rate, format));
    SF_INFO info;
    memset(&info, 0, sizeof info);
    info.format = format;
    info.channels = (int)C;
    info.samplerate = sample_rate;
    SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
    if (!sf) return slm_error(SLM_ERR_IO, fn, "cannot write '%s': %s", path, sf_strerror(NULL));
    slm_status st = write_frames(sf, fn, path, inp, C, L);
    if (sf_close(sf) != 0 && st == SLM_OK) st = slm_error(SLM_ERR_IO, fn, "cannot finish writing '%s'", path);
    if (st != SLM_OK) remove(path); /* no half-written file behind an error */
    return st;
}

slm_status slm_audio_encode_f32(void **data, int64_t *size, const float *inp, int64_t C, int64_t L,
                                int sample_rate, int format) {
    static const char fn[] = "audio_encode";
    SLM_CHECK(data != NULL && size != NULL, fn, "NULL argument");
    *data = NULL;
    *size = 0;
    SLM_TRY(check_write(fn, "<memory>", inp, C, L, sample_rate, format));
    SF_INFO info;
    memset(&info, 0, sizeof info);
    info.format = format;
    info.channels = (int)C;
    info.samplerate = sample_rate;
    membuf m = {NULL, 0, 0, 0, 0};
    SF_VIRTUAL_IO vio = {vw_len, vw_seek, vw_read, vw_write, vw_tell};
    SNDFILE *sf = sf_open_virtual(&vio, SFM_WRITE, &info, &m);
    if (!sf) {
        free(m.data);
        return slm_error(SLM_ERR_IO, fn, "cannot encode audio: %s", sf_strerror(NULL));
    }
    slm_status st = write_frames(sf, fn, "<memory>", inp, C, L);
    sf_close(sf);
    if (st == SLM_OK && m.oom) st = slm_error(SLM_ERR_NOMEM, fn, "out of memory encoding audio");
    if (st != SLM_OK) {
        free(m.data);
        return st;
    }
    *data = m.data;
    *size = m.size;
    return SLM_OK;
}

#else /* no libsndfile */

#define NO_SNDFILE(fn) slm_error(SLM_ERR_BACKEND, fn, "built without libsndfile")
struct slm_audio_file {
    int unused;
};
slm_status slm_audio_open(slm_audio_file **out, const char *path) {
    if (out) *out = NULL;
    return NO_SNDFILE("audio_open");
}
slm_status slm_audio_open_memory(slm_audio_file **out, const void *data, int64_t size, const char *name) {
    if (out) *out = NULL;
    return NO_SNDFILE("audio_open");
}
slm_status slm_audio_get_info(slm_audio_info *out, const slm_audio_file *f) { return NO_SNDFILE("audio_info"); }
slm_status slm_audio_seek(slm_audio_file *f, int64_t frame) { return NO_SNDFILE("audio_seek"); }
slm_status slm_audio_read_f32(float *out, int64_t *nread, slm_audio_file *f, int64_t n, int64_t stride,
                              int mono) {
    return NO_SNDFILE("audio_read");
}
void slm_audio_close(slm_audio_file *f) {}
int slm_audio_format_ok(int format, int channels, int sample_rate) { return 0; }
slm_status slm_audio_write_f32(const char *path, const float *inp, int64_t C, int64_t L, int sample_rate,
                               int format) {
    return NO_SNDFILE("audio_write");
}
slm_status slm_audio_encode_f32(void **data, int64_t *size, const float *inp, int64_t C, int64_t L,
                                int sample_rate, int format) {
    return NO_SNDFILE("audio_encode");
}
#endif
