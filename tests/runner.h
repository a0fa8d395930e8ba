/* The Check runner shared by tests/check_rpu and tests/check_internal. */
#ifndef RPU_TESTS_RUNNER_H
#define RPU_TESTS_RUNNER_H

#include <check.h>
#include <stddef.h>

typedef struct test_suite_entry {
  const char *name;
  Suite *(*make)(void);
} test_suite_entry;

/* Runs the suites named on the command line (all if none) and returns the
 * process exit status: 0 if every test passed, 1 if one failed, 2 if no
 * suite matched. */
int test_run_suites(const char *prog, const test_suite_entry *suites, size_t n, int argc,
                    char **argv);

#endif
