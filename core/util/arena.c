/* Allocation arena: a linked list of individually malloc'ed chunks.  Configs
 * are small, so simplicity wins over packing. */
#include "core/util/arena.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "core/util/error.h"

struct rpu__arena_block {
  rpu__arena_block *next;
  alignas(max_align_t) unsigned char data[];
};

void *rpu__arena_alloc(rpu__arena *a, size_t n) {
  rpu__arena_block *b = calloc(1, sizeof *b + (n ? n : 1));
  if (b == NULL) {
    rpu__error_set(RPU_ENOMEM, NULL, "out of memory allocating %zu bytes", n);
    return NULL;
  }
  b->next = a->head;
  a->head = b;
  return b->data;
}

char *rpu__arena_strdup(rpu__arena *a, const char *s) {
  if (s == NULL) return NULL;
  return rpu__arena_memdup(a, s, strlen(s) + 1);
}

void *rpu__arena_memdup(rpu__arena *a, const void *p, size_t n) {
  void *d = rpu__arena_alloc(a, n);
  if (d != NULL && n > 0) memcpy(d, p, n);
  return d;
}

void rpu__arena_free(rpu__arena *a) {
  rpu__arena_block *b = a->head;
  while (b != NULL) {
    rpu__arena_block *next = b->next;
    free(b);
    b = next;
  }
  a->head = NULL;
}
