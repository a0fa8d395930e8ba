/* The master Check runner: one suite per module (DESIGN.md §10).
 * Usage: check_rpu [SUITE...] runs only the named suites. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/suites.h"

typedef struct {
  const char *name;
  Suite *(*make)(void);
} suite_entry;

static const suite_entry suites[] = {
    {"error", suite_error},         {"rng", suite_rng},
    {"threads", suite_threads},     {"plugin", suite_plugin},
    {"models", suite_models},       {"params", suite_params},
    {"config", suite_config},       {"tile_fp", suite_tile_fp},
    {"checkpoint", suite_checkpoint},
    {"pulsed_devices", suite_pulsed_devices},
};

static int wanted(const char *name, int argc, char **argv) {
  if (argc <= 1) return 1;
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], name) == 0) return 1;
  return 0;
}

int main(int argc, char **argv) {
  SRunner *sr = NULL;
  for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++) {
    if (!wanted(suites[i].name, argc, argv)) continue;
    Suite *s = suites[i].make();
    if (sr == NULL)
      sr = srunner_create(s);
    else
      srunner_add_suite(sr, s);
  }
  if (sr == NULL) {
    fprintf(stderr, "check_rpu: no suite matches\n");
    return 2;
  }
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
