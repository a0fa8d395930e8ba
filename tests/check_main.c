/* tests/check_rpu: the suites that drive the library through its public
 * API.  Usage: check_rpu [SUITE...] runs only the named suites. */
#include "tests/runner.h"
#include "tests/suites.h"

static const test_suite_entry suites[] = {
    {"error", suite_error},         {"rng", suite_rng},
    {"threads", suite_threads},     {"plugin", suite_plugin},
    {"models", suite_models},       {"params", suite_params},
    {"config", suite_config},       {"tile_fp", suite_tile_fp},
    {"checkpoint", suite_checkpoint},
    {"pulsed_devices", suite_pulsed_devices}, {"tile_analog", suite_tile_analog},
    {"nn", suite_nn},
    {"experiment", suite_experiment},
    {"trainer", suite_trainer},
};

int main(int argc, char **argv) {
  return test_run_suites("check_rpu", suites, sizeof suites / sizeof suites[0], argc, argv);
}
