/* stub: to be written */
#include "tests/suites.h"
Suite *suite_threads(void) { return suite_create("threads"); }
