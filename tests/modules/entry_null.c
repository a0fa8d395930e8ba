/* Broken test plugin: the entry exists but returns NULL. */
#include "rpu/plugin.h"

RPU_PLUGIN_DEFINE(entry_null, (const rpu_plugin_info *)NULL)
