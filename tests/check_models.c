/* stub: to be written */
#include "tests/suites.h"
Suite *suite_models(void) { return suite_create("models"); }
