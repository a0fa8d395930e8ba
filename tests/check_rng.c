/* stub: to be written */
#include "tests/suites.h"
Suite *suite_rng(void) { return suite_create("rng"); }
