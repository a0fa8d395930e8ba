/* stub: to be written */
#include "tests/suites.h"
Suite *suite_nn(void) { return suite_create("nn"); }
