/* stub: to be written */
typedef int rpu__stub_core_engine_checkpoint_c;
