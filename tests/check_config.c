/* stub: to be written */
#include "tests/suites.h"
Suite *suite_config(void) { return suite_create("config"); }
