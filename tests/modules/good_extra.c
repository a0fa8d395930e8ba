/* stub: to be written */
typedef int rpu__stub_tests_modules_good_extra_c;
