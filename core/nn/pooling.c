/* stub: to be written */
typedef int rpu__stub_nn_pooling;
