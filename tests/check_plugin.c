/* stub: to be written */
#include "tests/suites.h"
Suite *suite_plugin(void) { return suite_create("plugin"); }
