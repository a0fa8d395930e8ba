/* stub: to be written */
typedef int rpu__stub_tests_modules_no_entry_c;
