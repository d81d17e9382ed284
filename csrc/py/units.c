/* units.c: glue for speech-unit sequences: deduplication with durations, unit BPE. */
#include "glue.h"

#include "../runtime/runtime.h"

PyMethodDef slm_py_units_methods[] = {{NULL, NULL, 0, NULL}};
