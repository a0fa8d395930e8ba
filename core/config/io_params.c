/* stub: to be written */
typedef int rpu__stub_core_config_io_params_c;
