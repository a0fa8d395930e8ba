/* stub: to be written */
typedef int rpu__stub_core_config_config_c;
