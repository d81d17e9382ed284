/* whisper.c: glue of the whisper encoder (filled in by its issue-4 part). */
#include "glue.h"

PyMethodDef slm_py_whisper_methods[] = {{NULL, NULL, 0, NULL}};
