/* audio.c: glue for audio file I/O through libsndfile. */
#include "glue.h"

#include "../runtime/runtime.h"

PyMethodDef slm_py_audio_methods[] = {{NULL, NULL, 0, NULL}};
