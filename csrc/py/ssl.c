/* ssl.c: glue of the ssl encoder (filled in by its issue-4 part). */
#include "glue.h"

PyMethodDef slm_py_ssl_methods[] = {{NULL, NULL, 0, NULL}};
