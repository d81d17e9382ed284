/* kmeans.c: glue for k-means: nearest-centroid assignment and training. */
#include "glue.h"

#include "../runtime/runtime.h"

PyMethodDef slm_py_kmeans_methods[] = {{NULL, NULL, 0, NULL}};
