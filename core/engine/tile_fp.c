/* stub: to be written */
typedef int rpu__stub_core_engine_tile_fp_c;
