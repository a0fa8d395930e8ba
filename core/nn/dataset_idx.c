/* IDX datasets (MNIST / Fashion-MNIST format), plain or gzip'ed, and the
 * per-epoch shuffle (issue 5 item 2; DESIGN.md §7 for the RNG streams).
 *
 * IDX layout: magic 0x00 0x00 <type> <ndims>, then ndims big-endian uint32
 * dimensions, then the data.  Only unsigned bytes (type 0x08) are read:
 * images with 3 dims (count, rows, cols), labels with 1 dim (count). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "core/nn/nn_internal.h"
#include "core/util/error.h"
#include "rpu/nn.h"
#include "rpu/rng.h"

#define ORIGIN "rpu_dataset_load_idx"
#define DATASET_DIR "/usr/share/datasets"
#define MAX_ELEMS 2000000000ull /* int-indexable element count */

struct rpu_dataset {
  int n, rows, cols, classes;
  float *images; /* n x rows*cols, in [0, 1] */
  int *labels;
};

typedef struct idx_file {
  const char *path;
  gzFile gz;
  uint32_t dims[3];
  int ndims;
} idx_file;

static int idx_open(idx_file *f, const char *path, int want_dims, const char *what);
static int idx_read(idx_file *f, unsigned char *buf, size_t len, const char *what);
static int idx_check_end(idx_file *f, uint64_t data_bytes, int read_all, int after_read);

static float *alloc_images(size_t n);

int rpu_dataset_load_idx(rpu_dataset **out, const char *images_path,
                         const char *labels_path, int limit) {
  if (out == NULL || images_path == NULL || labels_path == NULL || limit < 0)
    return rpu__error_set(RPU_EINVAL, ORIGIN,
                          ORIGIN ": out and paths must not be NULL, limit >= 0");
  *out = NULL;
  idx_file im = {images_path, NULL, {0, 0, 0}, 0};
  idx_file lb = {labels_path, NULL, {0, 0, 0}, 0};
  rpu_dataset *ds = NULL;
  unsigned char *bytes = NULL;
  int rc = idx_open(&im, images_path, 3, "images");
  if (rc == 0) rc = idx_open(&lb, labels_path, 1, "labels");
  if (rc == 0 && im.dims[0] != lb.dims[0])
    rc = rpu__error_set(RPU_ESHAPE, labels_path,
                        "%s has %u labels but %s has %u images", labels_path,
                        lb.dims[0], images_path, im.dims[0]);
  if (rc == 0 && (im.dims[1] == 0 || im.dims[2] == 0 || im.dims[0] == 0))
    rc = rpu__error_set(RPU_ECORRUPT, images_path,
                        "%s: empty images (%u x %u x %u)", images_path, im.dims[0],
                        im.dims[1], im.dims[2]);
  uint64_t total = (uint64_t)im.dims[0] * im.dims[1] * im.dims[2];
  if (rc == 0 && total > MAX_ELEMS)
    rc = rpu__error_set(RPU_ECORRUPT, images_path, "%s: %u x %u x %u images are too large",
                        images_path, im.dims[0], im.dims[1], im.dims[2]);
  /* A plain file's length is checked before allocating for its header's
   * counts, so a corrupt header cannot ask for gigabytes. */
  if (rc == 0) rc = idx_check_end(&im, total, 1, 0);
  if (rc == 0) rc = idx_check_end(&lb, lb.dims[0], 1, 0);
  uint32_t n = im.dims[0];
  if (limit > 0 && (uint32_t)limit < n) n = (uint32_t)limit;
  int all = n == im.dims[0];
  size_t feat = (size_t)im.dims[1] * im.dims[2];
  if (rc == 0) {
    ds = calloc(1, sizeof *ds);
    bytes = malloc(n * feat); /* >= n: feat >= 1 */
    if (ds) ds->images = alloc_images(n * feat);
    if (ds) ds->labels = malloc(n * sizeof(int));
    if (!ds || !bytes || !ds->images || !ds->labels)
      rc = rpu__error_set(RPU_ENOMEM, images_path, "%s: out of memory", images_path);
  }
  if (rc == 0) rc = idx_read(&im, bytes, n * feat, "images");
  if (rc == 0) rc = idx_check_end(&im, total, all, 1);
  if (rc == 0) {
    for (size_t k = 0; k < n * feat; k++) ds->images[k] = (float)bytes[k] / 255.0f;
    rc = idx_read(&lb, bytes, n, "labels");
  }
  if (rc == 0) rc = idx_check_end(&lb, lb.dims[0], all, 1);
  if (rc == 0) {
    ds->n = (int)n;
    ds->rows = (int)im.dims[1];
    ds->cols = (int)im.dims[2];
    for (uint32_t k = 0; k < n; k++) {
      ds->labels[k] = bytes[k];
      if (bytes[k] + 1 > ds->classes) ds->classes = bytes[k] + 1;
    }
  }
  if (im.gz) gzclose(im.gz);
  if (lb.gz) gzclose(lb.gz);
  free(bytes);
  if (rc != 0) {
    rpu_dataset_free(ds);
    return rc;
  }
  *out = ds;
  return 0;
}

void rpu_dataset_free(rpu_dataset *ds) {
  if (ds == NULL) return;
  free(ds->images);
  free(ds->labels);
  free(ds);
}

int rpu_dataset_size(const rpu_dataset *ds) { return ds ? ds->n : 0; }
int rpu_dataset_rows(const rpu_dataset *ds) { return ds ? ds->rows : 0; }
int rpu_dataset_cols(const rpu_dataset *ds) { return ds ? ds->cols : 0; }
int rpu_dataset_features(const rpu_dataset *ds) { return ds ? ds->rows * ds->cols : 0; }
int rpu_dataset_classes(const rpu_dataset *ds) { return ds ? ds->classes : 0; }
/* The images are read in shuffled order every batch: on 4 KiB pages that
 * is a TLB miss per image (60,000 images span 188 MB), which cost the first
 * epochs of an MLP a third of their time.  So the buffer is 2 MiB aligned
 * and advised as huge pages (where transparent huge pages are "madvise",
 * Debian's default); it stays an ordinary free()-able allocation. */
static float *alloc_images(size_t n) {
  size_t bytes = n * sizeof(float), huge = (size_t)2 << 20;
  if (bytes < huge) return malloc(bytes ? bytes : 1);
  void *p = NULL;
  size_t rounded = (bytes + huge - 1) / huge * huge;
  if (posix_memalign(&p, huge, rounded) != 0) return NULL;
#ifdef MADV_HUGEPAGE
  (void)madvise(p, rounded, MADV_HUGEPAGE);
#endif
  return p;
}

const float *rpu_dataset_images(const rpu_dataset *ds) { return ds ? ds->images : NULL; }
const int *rpu_dataset_labels(const rpu_dataset *ds) { return ds ? ds->labels : NULL; }

int rpu_dataset_normalize(rpu_dataset *ds, float mean, float std) {
  if (ds == NULL || !isfinite(mean) || !isfinite(std) || !(std > 0.0f))
    return rpu__error_set(RPU_EINVAL, "rpu_dataset_normalize",
                          "rpu_dataset_normalize: need a dataset, finite mean and std > 0 "
                          "(got mean %g, std %g)", (double)mean, (double)std);
  size_t total = (size_t)ds->n * (size_t)(ds->rows * ds->cols);
  float inv = 1.0f / std;
  for (size_t k = 0; k < total; k++) ds->images[k] = (ds->images[k] - mean) * inv;
  return 0;
}

int rpu_dataset_gather(const rpu_dataset *ds, const uint32_t *order, int batch,
                       float *x, int *labels) {
  if (ds == NULL || order == NULL || x == NULL || batch < 0)
    return rpu__error_set(RPU_EINVAL, "rpu_dataset_gather",
                          "rpu_dataset_gather: NULL argument or negative batch");
  size_t feat = (size_t)(ds->rows * ds->cols);
  for (int b = 0; b < batch; b++)
    if (order[b] >= (uint32_t)ds->n)
      return rpu__error_set(RPU_ERANGE, "rpu_dataset_gather",
                            "rpu_dataset_gather: index %u at position %d is outside "
                            "the %d samples", order[b], b, ds->n);
  for (int b = 0; b < batch; b++) {
    memcpy(x + (size_t)b * feat, ds->images + (size_t)order[b] * feat, feat * sizeof(float));
    if (labels) labels[b] = ds->labels[order[b]];
  }
  return 0;
}

/* Fisher-Yates: for i = n-1..1 swap order[i] with order[j], j uniform in
 * 0..i.  j = r mod (i+1) from a 32-bit word r, rejecting r < 2^32 mod
 * (i+1) so every j is equally likely (no modulo bias).  Words are taken in
 * sequence from the stream, CHUNK at a time. */
int rpu_shuffle_order(uint32_t *order, uint32_t n, uint64_t seed, uint32_t epoch) {
  enum { CHUNK = 256 };
  if (order == NULL && n > 0)
    return rpu__error_set(RPU_EINVAL, "rpu_shuffle_order",
                          "rpu_shuffle_order: order must not be NULL");
  for (uint32_t i = 0; i < n; i++) order[i] = i;
  rpu_rng_stream s = rpu_rng_stream_make(seed, 0, RPU_RNG_DATA);
  s.step = epoch;
  uint32_t words[CHUNK];
  uint64_t pos = 0;
  size_t used = CHUNK;
  for (uint32_t i = n > 0 ? n - 1 : 0; i > 0; i--) {
    uint32_t bound = i + 1;
    uint32_t threshold = (uint32_t)(-bound) % bound; /* 2^32 mod bound */
    uint32_t r;
    do {
      if (used == CHUNK) {
        rpu_rng_fill_u32(&s, pos, words, CHUNK);
        pos += CHUNK;
        used = 0;
      }
      r = words[used++];
    } while (r < threshold);
    uint32_t j = r % bound;
    uint32_t tmp = order[i];
    order[i] = order[j];
    order[j] = tmp;
  }
  return 0;
}

/* ----- helpers ------------------------------------------------------------ */

static int idx_open(idx_file *f, const char *path, int want_dims, const char *what) {
  errno = 0;
  f->gz = gzopen(path, "rb");
  if (f->gz == NULL) {
    int err = errno ? errno : ENOMEM;
    int under = strncmp(path, DATASET_DIR "/", strlen(DATASET_DIR) + 1) == 0;
    return rpu__error_set(RPU_EIO, path, "cannot open %s file %s: %s%s", what, path,
                          strerror(err),
                          under ? " (install the Debian package dataset-fashion-mnist)"
                                : "");
  }
  unsigned char head[4 + 12];
  int rc = idx_read(f, head, 4, what);
  if (rc != 0) return rc;
  if (head[0] != 0 || head[1] != 0 || head[2] != 0x08 || head[3] != want_dims)
    return rpu__error_set(RPU_ECORRUPT, path,
                          "%s: wrong IDX magic %02x %02x %02x %02x for %s (expected "
                          "00 00 08 %02x: unsigned bytes, %d dimension%s)",
                          path, head[0], head[1], head[2], head[3], what, want_dims,
                          want_dims, want_dims == 1 ? "" : "s");
  rc = idx_read(f, head + 4, 4 * (size_t)want_dims, what);
  if (rc != 0) return rc;
  f->ndims = want_dims;
  for (int d = 0; d < want_dims; d++) {
    const unsigned char *p = head + 4 + 4 * d;
    f->dims[d] = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
  }
  return 0;
}

/* Reads exactly len bytes; a short read is a truncated file. */
static int idx_read(idx_file *f, unsigned char *buf, size_t len, const char *what) {
  size_t got = 0;
  while (got < len) {
    unsigned chunk = len - got > (1u << 30) ? (1u << 30) : (unsigned)(len - got);
    int r = gzread(f->gz, buf + got, chunk);
    if (r < 0) {
      int zerr;
      const char *msg = gzerror(f->gz, &zerr);
      return rpu__error_set(zerr == Z_ERRNO ? RPU_EIO : RPU_ECORRUPT, f->path,
                            "%s: cannot read %s: %s", f->path, what,
                            zerr == Z_ERRNO ? strerror(errno) : msg);
    }
    if (r == 0) break;
    got += (size_t)r;
  }
  if (got < len)
    return rpu__error_set(RPU_ECORRUPT, f->path,
                          "%s: truncated %s file (%zu of %zu bytes of a read present)",
                          f->path, what, got, len);
  return 0;
}

/* The data must end exactly where the header says.  A plain file is checked
 * by its length (before the data is read: after_read 0); a gzip'ed one by
 * reading one byte past the data (after_read 1), which is only done when
 * all samples were read (a limit does not decompress the rest). */
static int idx_check_end(idx_file *f, uint64_t data_bytes, int read_all, int after_read) {
  uint64_t expect = 4 + 4 * (uint64_t)f->ndims + data_bytes;
  if (gzdirect(f->gz)) {
    if (after_read) return 0;
    struct stat st;
    if (stat(f->path, &st) == 0 && (uint64_t)st.st_size != expect)
      return rpu__error_set(RPU_ECORRUPT, f->path,
                            "%s: file has %llu bytes but its header says %llu%s", f->path,
                            (unsigned long long)st.st_size, (unsigned long long)expect,
                            (uint64_t)st.st_size < expect ? " (truncated)" : "");
    return 0;
  }
  if (!read_all || !after_read) return 0;
  unsigned char extra;
  int r = gzread(f->gz, &extra, 1);
  if (r > 0)
    return rpu__error_set(RPU_ECORRUPT, f->path,
                          "%s: data continues after the %llu bytes its header says",
                          f->path, (unsigned long long)expect);
  if (r < 0) {
    int zerr;
    const char *msg = gzerror(f->gz, &zerr);
    return rpu__error_set(RPU_ECORRUPT, f->path, "%s: %s", f->path, msg);
  }
  return 0;
}
