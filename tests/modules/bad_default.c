/* stub: to be written */
typedef int rpu__stub_tests_modules_bad_default_c;
