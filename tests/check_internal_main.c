/* Runner of the internal-module unit tests (linked from the module sources).
 * Usage: check_internal [SUITE...] runs only the named suites. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/internal_suites.h"

typedef struct {
  const char *name;
  Suite *(*make)(void);
} suite_entry;

static const suite_entry suites[] = {
    {"io", suite_io},
    {"pulse", suite_pulse},
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
    fprintf(stderr, "check_internal: no suite matches\n");
    return 2;
  }
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
