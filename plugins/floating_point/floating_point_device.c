/* stub: to be written */
typedef int rpu__stub_plugins_floating_point_floating_point_device_c;
