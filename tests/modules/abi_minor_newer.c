/* stub: to be written */
typedef int rpu__stub_tests_modules_abi_minor_newer_c;
