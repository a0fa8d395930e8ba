/* stub: to be written */
typedef int rpu__stub_plugins_ideal_ideal_device_c;
