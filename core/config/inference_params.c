/* stub: to be written */
typedef int rpu__stub_core_config_inference_params_c;
