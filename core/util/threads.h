/* Internal: the thread count parallel regions of the engine may use. */
#ifndef RPU_CORE_UTIL_THREADS_H
#define RPU_CORE_UTIL_THREADS_H

/* OpenMP threads a region started here may use: the rpu_set_num_threads
 * setting, or 1 inside another parallel region (and without OpenMP). */
int rpu__max_threads(void);

#endif
