/* rpu — little-endian byte encoding for saved state (checkpoints, device
 * hidden state in rpu_device_vtable.save / load), so a file written on one
 * machine loads on any other.  Header-only. */
#ifndef RPU_BYTES_H
#define RPU_BYTES_H

#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

static inline void rpu_le_put_u32(unsigned char *p, uint32_t v) {
  int b;
  for (b = 0; b < 4; b++) p[b] = (unsigned char)(v >> (8 * b));
}

static inline uint32_t rpu_le_get_u32(const unsigned char *p) {
  uint32_t v = 0;
  int b;
  for (b = 0; b < 4; b++) v |= (uint32_t)p[b] << (8 * b);
  return v;
}

static inline void rpu_le_put_u64(unsigned char *p, uint64_t v) {
  int b;
  for (b = 0; b < 8; b++) p[b] = (unsigned char)(v >> (8 * b));
}

static inline uint64_t rpu_le_get_u64(const unsigned char *p) {
  uint64_t v = 0;
  int b;
  for (b = 0; b < 8; b++) v |= (uint64_t)p[b] << (8 * b);
  return v;
}

static inline void rpu_le_put_f32(unsigned char *p, float v) {
  uint32_t u;
  memcpy(&u, &v, sizeof u);
  rpu_le_put_u32(p, u);
}

static inline float rpu_le_get_f32(const unsigned char *p) {
  uint32_t u = rpu_le_get_u32(p);
  float v;
  memcpy(&v, &u, sizeof v);
  return v;
}

static inline void rpu_le_put_f64(unsigned char *p, double v) {
  uint64_t u;
  memcpy(&u, &v, sizeof u);
  rpu_le_put_u64(p, u);
}

static inline double rpu_le_get_f64(const unsigned char *p) {
  uint64_t u = rpu_le_get_u64(p);
  double v;
  memcpy(&v, &u, sizeof v);
  return v;
}

#ifdef __cplusplus
}
#endif

#endif /* RPU_BYTES_H */
