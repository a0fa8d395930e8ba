/* Internal: the trainer's state, shared by trainer.c (running) and
 * trainer_checkpoint.c (saving and restoring). */
#ifndef RPU_CORE_NN_TRAINER_IMPL_H
#define RPU_CORE_NN_TRAINER_IMPL_H

#include "core/nn/experiment_impl.h"
#include "rpu/nn.h"

#endif
