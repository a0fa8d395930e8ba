/* stub: to be written */
#include "rpu/plugin.h"
static const rpu_plugin_info info = {RPU_PLUGIN_INFO_HEAD, "floating_point", "0", "stub", NULL, 0};
RPU_PLUGIN_DEFINE(floating_point, &info)
