/* rpu — neural-network layers on tiles (stub: to be written). */
#ifndef RPU_NN_H
#define RPU_NN_H

#include "rpu/tile.h"

#endif /* RPU_NN_H */
