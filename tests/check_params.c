/* stub: to be written */
#include "tests/suites.h"
Suite *suite_params(void) { return suite_create("params"); }
