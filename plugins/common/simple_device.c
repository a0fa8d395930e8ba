/* stub */
typedef int rpu__stub_simple;
