/* A simple allocation arena: many small allocations freed at once.  Used
 * for everything a config owns (typed parameter structs, strings, nested
 * device specs), so freeing a config is one call. */
#ifndef RPU_CORE_UTIL_ARENA_H
#define RPU_CORE_UTIL_ARENA_H

#include <stddef.h>

typedef struct rpu__arena_block rpu__arena_block;

typedef struct rpu__arena {
  rpu__arena_block *head;
} rpu__arena;

#define RPU__ARENA_INIT {NULL}

/* Zeroed memory of n bytes, aligned for any type; NULL on out of memory
 * (the last error is set). */
void *rpu__arena_alloc(rpu__arena *a, size_t n);
/* Copy of s in the arena (NULL stays NULL). */
char *rpu__arena_strdup(rpu__arena *a, const char *s);
/* Copy of n bytes. */
void *rpu__arena_memdup(rpu__arena *a, const void *p, size_t n);
/* Frees every allocation of the arena; it can be reused afterwards. */
void rpu__arena_free(rpu__arena *a);

#endif
