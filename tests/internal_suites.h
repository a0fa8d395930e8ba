/* Suites of tests/check_internal: unit tests of internal engine modules. */
#ifndef RPU_TESTS_INTERNAL_SUITES_H
#define RPU_TESTS_INTERNAL_SUITES_H

#include <check.h>

Suite *suite_io(void);
Suite *suite_pulse(void);
Suite *suite_threads_exact(void);

#endif
