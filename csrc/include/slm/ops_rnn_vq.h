/* ops_rnn_vq.h: public C API of the rnn_vq op family (see slm.h for conventions). */
#ifndef SLM_OPS_RNN_VQ_H
#define SLM_OPS_RNN_VQ_H

#include <stdint.h>
#include "../slm.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif

#endif
