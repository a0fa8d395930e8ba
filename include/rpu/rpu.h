/* rpu — umbrella header: includes the whole public API. */
#ifndef RPU_RPU_H
#define RPU_RPU_H

#include "rpu/common.h"
#include "rpu/version.h"
#include "rpu/rng.h"
#include "rpu/params.h"
#include "rpu/plugin.h"
#include "rpu/context.h"
#include "rpu/config.h"
#include "rpu/tile.h"
#include "rpu/nn.h"
#include "rpu/bytes.h"
#include "rpu/experiment.h"

#endif /* RPU_RPU_H */
