/* ssl.h: public C API of the ssl encoder (filled in by its issue-4 part). */
#ifndef SLM_SSL_H
#define SLM_SSL_H

#include <stdint.h>
#include "models.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif

#endif
