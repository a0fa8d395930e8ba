/* Suite "experiment" (stub until it lands). */
#include "tests/suites.h"

Suite *suite_experiment(void) {
  Suite *s = suite_create("experiment");
  return s;
}
