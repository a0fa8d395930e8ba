/* stub: to be written */
#include "tests/suites.h"
Suite *suite_checkpoint(void) { return suite_create("checkpoint"); }
