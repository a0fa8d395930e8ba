/* stub: to be written */
#include "tests/suites.h"
Suite *suite_tile_fp(void) { return suite_create("tile_fp"); }
