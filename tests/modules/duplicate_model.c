/* stub: to be written */
typedef int rpu__stub_tests_modules_duplicate_model_c;
