/* stub: to be written */
typedef int rpu__stub_tests_modules_abi_major_c;
