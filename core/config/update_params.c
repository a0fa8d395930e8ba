/* stub: to be written */
typedef int rpu__stub_core_config_update_params_c;
