/* Status codes and the thread-local last error (DESIGN.md §3). */
#include <pthread.h>

#include "tests/suites.h"
#include "tests/testutil.h"

START_TEST(strerror_covers_every_code) {
  /* Every code of the X-macro table has its own text and symbolic name;
   * anything outside the table is "unknown". */
  static const int codes[] = {
#define X(name, value, msg) value,
      RPU_STATUS_MAP(X)
#undef X
  };
  static const char *const names[] = {
#define X(name, value, msg) "RPU_" #name,
      RPU_STATUS_MAP(X)
#undef X
  };
  size_t n = sizeof codes / sizeof codes[0];
  for (size_t i = 0; i < n; i++) {
    ck_assert_str_eq(rpu_status_name(codes[i]), names[i]);
    ck_assert_str_ne(rpu_strerror(codes[i]), "unknown error");
    for (size_t j = 0; j < i; j++) ck_assert_int_ne(codes[i], codes[j]);
  }
  ck_assert_str_eq(rpu_strerror(RPU_OK), "success");
  ck_assert_str_eq(rpu_strerror(RPU_EINVAL), "invalid argument");
  ck_assert_str_eq(rpu_strerror(12345), "unknown error");
  ck_assert_str_eq(rpu_status_name(-999), "RPU_E?");
}
END_TEST

START_TEST(last_error_set_and_clear) {
  rpu_error_clear();
  ck_assert_int_eq(rpu_error_last()->code, RPU_OK);
  ck_assert_str_eq(rpu_error_last()->message, "");
  int rc = rpu_error_set(RPU_ERANGE, "MyDevice", "dw_min: %g is below minimum %g", -0.1, 0.0);
  ck_assert_int_eq(rc, RPU_ERANGE);
  ck_assert_int_eq(rpu_error_last()->code, RPU_ERANGE);
  ck_assert_str_eq(rpu_error_last()->message, "dw_min: -0.1 is below minimum 0");
  ck_assert_str_eq(rpu_error_last()->origin, "MyDevice");
  rpu_error_clear();
  ck_assert_int_eq(rpu_error_last()->code, RPU_OK);
  ck_assert_str_eq(rpu_error_last()->origin, "");
}
END_TEST

START_TEST(long_messages_are_truncated_not_overflowed) {
  char big[5000];
  memset(big, 'a', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  rpu_error_set(RPU_EINVAL, big, "%s", big);
  /* The stored message is bounded (2048 bytes including the NUL). */
  ck_assert_uint_lt(strlen(rpu_error_last()->message), 2048);
  ck_assert_uint_lt(strlen(rpu_error_last()->origin), 512);
}
END_TEST

static void *set_in_thread(void *arg) {
  (void)arg;
  rpu_error_set(RPU_EIO, "thread", "set in another thread");
  return NULL;
}

START_TEST(last_error_is_per_thread) {
  rpu_error_set(RPU_ECONFIG, "main", "main thread error");
  pthread_t th;
  ck_assert_int_eq(pthread_create(&th, NULL, set_in_thread, NULL), 0);
  ck_assert_int_eq(pthread_join(th, NULL), 0);
  ck_assert_int_eq(rpu_error_last()->code, RPU_ECONFIG);
  ck_assert_str_eq(rpu_error_last()->message, "main thread error");
}
END_TEST

START_TEST(version_is_consistent) {
  ck_assert_str_eq(rpu_version(), RPU_VERSION_STRING);
  ck_assert_int_eq(rpu_version_number(),
                   RPU_VERSION_MAJOR * 10000 + RPU_VERSION_MINOR * 100 + RPU_VERSION_PATCH);
}
END_TEST

Suite *suite_error(void) {
  Suite *s = suite_create("error");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, strerror_covers_every_code);
  tcase_add_test(tc, last_error_set_and_clear);
  tcase_add_test(tc, long_messages_are_truncated_not_overflowed);
  tcase_add_test(tc, last_error_is_per_thread);
  tcase_add_test(tc, version_is_consistent);
  suite_add_tcase(s, tc);
  return s;
}
