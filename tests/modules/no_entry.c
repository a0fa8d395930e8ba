/* Broken test plugin: a shared object that exports nothing named
 * rpu_plugin_entry (only a look-alike), so the loader finds no entry. */
#include "rpu/plugin.h"

RPU__EXPORT int rpu_plugin_entry_missing(void);
int rpu_plugin_entry_missing(void) { return 42; }
