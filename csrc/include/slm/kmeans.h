/* kmeans.h: public C API of k-means: nearest-centroid assignment and training (see slm.h for conventions). */
#ifndef SLM_KMEANS_H
#define SLM_KMEANS_H

#include <stdint.h>
#include "../slm.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif

#endif
