/* Suite "trainer" (stub until it lands). */
#include "tests/suites.h"

Suite *suite_trainer(void) {
  Suite *s = suite_create("trainer");
  return s;
}
