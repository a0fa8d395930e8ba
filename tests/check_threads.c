/* One thread setting for BLAS and OpenMP (include/rpu/context.h):
 * rpu_set_num_threads(n) is what rpu_get_num_threads() reports, and n <= 0
 * means every online core. */
#include <unistd.h>

#include "tests/suites.h"
#include "tests/testutil.h"

/* Online cores as the system reports them (what "all cores" means). */
static int online_cores(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}

START_TEST(test_set_get) {
  rpu_set_num_threads(1);
  ck_assert_int_eq(rpu_get_num_threads(), 1);
  rpu_set_num_threads(2);
  ck_assert_int_eq(rpu_get_num_threads(), 2);
  rpu_set_num_threads(1);
  ck_assert_int_eq(rpu_get_num_threads(), 1);
  rpu_set_num_threads(0);
  ck_assert_int_eq(rpu_get_num_threads(), online_cores());
}
END_TEST

/* A negative count also means all cores (context.h: "n <= 0"). */
START_TEST(test_negative_means_all) {
  rpu_set_num_threads(1);
  rpu_set_num_threads(-3);
  ck_assert_int_eq(rpu_get_num_threads(), online_cores());
}
END_TEST

Suite *suite_threads(void) {
  Suite *s = suite_create("threads");
  TCase *tc = tcase_create("settings");
  tcase_add_test(tc, test_set_get);
  tcase_add_test(tc, test_negative_means_all);
  suite_add_tcase(s, tc);
  return s;
}
