/* stub: to be written */
typedef int rpu__stub_tools_cli_c;
