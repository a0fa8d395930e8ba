/* tests/check_internal: unit tests of internal engine modules, linked from
 * their sources.  Usage: check_internal [SUITE...]. */
#include "tests/internal_suites.h"
#include "tests/runner.h"

static const test_suite_entry suites[] = {
    {"io", suite_io},
    {"pulse", suite_pulse},
    {"threads_exact", suite_threads_exact},
};

int main(int argc, char **argv) {
  return test_run_suites("check_internal", suites, sizeof suites / sizeof suites[0], argc,
                         argv);
}
