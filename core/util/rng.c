/* stub: to be written */
typedef int rpu__stub_core_util_rng_c;
