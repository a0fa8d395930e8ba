/* One Check suite per module; tests/check_main.c runs them all. */
#ifndef RPU_TESTS_SUITES_H
#define RPU_TESTS_SUITES_H

#include <check.h>

Suite *suite_error(void);
Suite *suite_rng(void);
Suite *suite_threads(void);
Suite *suite_plugin(void);
Suite *suite_models(void);
Suite *suite_params(void);
Suite *suite_config(void);
Suite *suite_tile_fp(void);
Suite *suite_checkpoint(void);
Suite *suite_pulsed_devices(void);
Suite *suite_tile_analog(void);
Suite *suite_nn(void);
Suite *suite_experiment(void);
Suite *suite_trainer(void);

#endif
