/* f0.c: glue for F0 (pitch) estimation. */
#include "glue.h"

#include "../runtime/runtime.h"

PyMethodDef slm_py_f0_methods[] = {{NULL, NULL, 0, NULL}};
