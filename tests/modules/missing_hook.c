/* stub: to be written */
typedef int rpu__stub_tests_modules_missing_hook_c;
