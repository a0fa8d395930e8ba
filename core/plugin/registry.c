/* stub: to be written */
typedef int rpu__stub_core_plugin_registry_c;
