/* stub: to be written */
typedef int rpu__stub_core_plugin_plugin_api_c;
