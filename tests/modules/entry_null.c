/* stub: to be written */
typedef int rpu__stub_tests_modules_entry_null_c;
