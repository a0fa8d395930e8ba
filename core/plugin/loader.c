/* stub: to be written */
typedef int rpu__stub_core_plugin_loader_c;
