/* The Check runner shared by the test programs (DESIGN.md §10): one suite
 * per module; arguments select suites by name. */
#include "tests/runner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int wanted(const char *name, int argc, char **argv) {
  if (argc <= 1) return 1;
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], name) == 0) return 1;
  return 0;
}

int test_run_suites(const char *prog, const test_suite_entry *suites, size_t n, int argc,
                    char **argv) {
  SRunner *sr = NULL;
  for (size_t i = 0; i < n; i++) {
    if (!wanted(suites[i].name, argc, argv)) continue;
    Suite *s = suites[i].make();
    if (sr == NULL)
      sr = srunner_create(s);
    else
      srunner_add_suite(sr, s);
  }
  if (sr == NULL) {
    fprintf(stderr, "%s: no suite matches\n", prog);
    return 2;
  }
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
