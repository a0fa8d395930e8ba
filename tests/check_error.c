/* stub: to be written */
#include "tests/suites.h"
Suite *suite_error(void) { return suite_create("error"); }
