/* rpu-bench — median times of forward, backward and update per tile kind
 * beside the plain BLAS call of the same shape, measured in the same run
 * (DESIGN.md §8).
 *
 * For every shape, batch, tile kind and op: a warm-up, then repeated calls
 * alternating the tile op and its baseline (so both see the same cache and
 * clock state) until --min-time has passed, and the median of each.  The
 * baseline is the exact operation done by plain OpenBLAS, called directly
 * here (the library's own BLAS wrapper is internal): sgemm of
 * batch x in x out, and for batch 1 the call a careful exact implementation
 * would make instead, sgemv (forward, backward) or sger (update).
 *
 * Every timed update starts from the same initial weights (set, untimed,
 * before each call): repeating one (x, d) pair thousands of times would
 * otherwise drive every weight of a pulsed device onto its bound — a state
 * no training run is in, and one where exact devices must pulse element by
 * element — so the figure would describe the benchmark, not the workload. */
#include <cblas.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rpu/plugin.h"
#include "rpu/rpu.h"
#include "tools/cli.h"

#define MAX_LIST 16
#define LR 0.01f

static const char usage_text[] =
    "Usage: rpu-bench [--json] [--sizes LIST] [--batch LIST] [--threads T]\n"
    "                 [--device NAME] [--grad-scale S] [--min-time SEC]\n"
    "                 [--plugin-path DIR]\n"
    "\n"
    "Times forward, backward and update of a floating-point tile\n"
    "(FloatingPointRPUConfig), an analog tile (SingleRPUConfig with default IO\n"
    "and update parameters) and an inference tile (InferenceRPUConfig), each\n"
    "with its default config, beside the plain BLAS call of the same exact\n"
    "operation, measured in the same run: sgemm of batch x in x out (for\n"
    "batch 1: sgemv for forward/backward, sger for update).  Inputs x are\n"
    "uniform in (-1, 1), gradients d in (-S, S) (--grad-scale, default 1),\n"
    "the learning rate 0.01; weights are uniform in (-1/sqrt(in),\n"
    "1/sqrt(in)) (the usual initialisation of a linear layer); every timed\n"
    "update starts from these weights (reset, untimed, before each call).\n"
    "Each time is the median of repeated calls after a warm-up.  Tile kinds\n"
    "or ops this build cannot run are reported as unsupported (and left out\n"
    "of --json).\n"
    "\n"
    "Options:\n"
    "  --sizes LIST     square sizes N or OUTxIN shapes, comma-separated\n"
    "                   (default 256,512,1024); N@B or OUTxIN@B runs that\n"
    "                   shape with batch B only (e.g. 16x25@4608,32x400@512)\n"
    "  --batch LIST     batch sizes, comma-separated (default 1,10,100), for\n"
    "                   the sizes without @B\n"
    "  --threads T      BLAS / OpenMP threads (default 1)\n"
    "  --device NAME    device model of the analog tile (default: the\n"
    "                   config's default, ConstantStepDevice)\n"
    "  --grad-scale S   gradients uniform in (-S, S), S in (0, 1e6] (default 1;\n"
    "                   real training gradients are often 0.01 or smaller,\n"
    "                   which makes update management choose short trains)\n"
    "  --min-time SEC   measuring time per row and side (default 0.25)\n"
    "  --json           print a JSON array of {\"tile\",\"device\",\"op\",\"out\",\n"
    "                   \"in\",\"batch\",\"threads\",\"median_us\",\"sgemm_us\",\n"
    "                   \"ratio_vs_sgemm\",\"per_sample_us\"}\n"
    "  --plugin-path DIR  also load plugins from DIR (repeatable)\n"
    "  --help, --version\n"
    "\n"
    "Exit status: 0 ok, 1 error (bad device, config), 2 bad usage.\n";

typedef struct shape {
  int out, in;
  int batch; /* > 0: only this batch (OUTxIN@B) */
} shape;

typedef struct options {
  shape sizes[MAX_LIST];
  int n_sizes;
  int batches[MAX_LIST];
  int n_batches;
  int threads, json;
  double min_time, grad_scale;
  const char *device;
  cli_plugin_paths paths;
} options;

typedef enum { OP_FORWARD, OP_BACKWARD, OP_UPDATE } op_kind;
static const char *const op_names[] = {"forward", "backward", "update"};

typedef struct kind {
  const char *tile; /* JSON name */
  rpu_config *cfg;  /* NULL: unsupported (why in `why`) */
  const char *device;
  char why[300];
  int reported[3]; /* an op found unsupported was reported once */
} kind;

/* Buffers of one (shape, batch). */
typedef struct bufs {
  int out, in, batch;
  float *w, *x, *d, *y, *dx, *wb; /* wb: baseline's own weights */
} bufs;

static int parse_args(int argc, char **argv, options *o);
static int parse_shapes(const char *s, options *o);
static int parse_batches(const char *s, options *o);
static void make_kinds(rpu_context *ctx, const options *o, kind *k);
static int bench_row(rpu_context *ctx, const options *o, kind *k,
                     const bufs *b, op_kind op, int *first_json);
static double median(double *v, size_t n);
static int tile_op(rpu_tile *t, const bufs *b, op_kind op);
static void baseline_op(const bufs *b, op_kind op);
/* OpenBLAS threads of the plain baseline (--threads). */
static int baseline_threads = 1;
static int bufs_make(bufs *b, int out, int in, int batch, float grad_scale);
static void bufs_free(bufs *b);
static void fill_uniform(float *v, size_t n, float half_width, uint32_t sub);
static double now_s(void);
static int cmp_double(const void *a, const void *b);

int main(int argc, char **argv) {
  cli_set_program("rpu-bench");
  options o;
  memset(&o, 0, sizeof o);
  o.threads = 1;
  o.min_time = 0.25;
  o.grad_scale = 1.0;
  int rc = parse_args(argc, argv, &o);
  if (rc >= 0) {
    cli_plugin_paths_free(&o.paths);
    return rc == 100 ? CLI_EXIT_OK : rc;
  }
  rpu_set_num_threads(o.threads);
  baseline_threads = o.threads;
  rpu_context *ctx = NULL;
  if ((rc = cli_context_new(&ctx, &o.paths, NULL, 0)) != CLI_EXIT_OK) {
    cli_plugin_paths_free(&o.paths);
    return rc;
  }
  kind kinds[3];
  make_kinds(ctx, &o, kinds);
  rc = CLI_EXIT_OK;
  if (o.device != NULL && kinds[1].cfg == NULL) /* asked for, not usable */
    rc = cli_user_error("--device %s: %s", o.device, kinds[1].why);
  if (!o.json && rc == CLI_EXIT_OK)
    printf("%-15s %-22s %-8s %5s %5s %5s %3s %11s %11s %7s %10s\n", "TILE", "DEVICE", "OP",
           "OUT", "IN", "BATCH", "THR", "MEDIAN_US", "SGEMM_US", "RATIO", "US/SAMPLE");
  int first_json = 1;
  if (o.json && rc == CLI_EXIT_OK) fputs("[", stdout);
  for (int s = 0; s < o.n_sizes && rc == CLI_EXIT_OK; s++)
    for (int bi = 0; bi < (o.sizes[s].batch > 0 ? 1 : o.n_batches) && rc == CLI_EXIT_OK;
         bi++) {
      bufs b;
      int batch = o.sizes[s].batch > 0 ? o.sizes[s].batch : o.batches[bi];
      if (bufs_make(&b, o.sizes[s].out, o.sizes[s].in, batch, (float)o.grad_scale)) {
        rc = cli_user_error("out of memory for %d x %d, batch %d", o.sizes[s].out,
                            o.sizes[s].in, batch);
        break;
      }
      for (int k = 0; k < 3 && rc == CLI_EXIT_OK; k++)
        for (int op = 0; op < 3 && rc == CLI_EXIT_OK; op++)
          rc = bench_row(ctx, &o, &kinds[k], &b, (op_kind)op, &first_json);
      bufs_free(&b);
    }
  if (o.json && rc == CLI_EXIT_OK) fputs("]\n", stdout);
  for (int k = 0; k < 3; k++) rpu_config_free(kinds[k].cfg);
  rpu_context_free(ctx);
  cli_plugin_paths_free(&o.paths);
  return rc;
}

/* -1: go on; CLI_EXIT_USAGE / CLI_EXIT_USER: stop with it; 100: --help or
 * --version printed. */
static int parse_args(int argc, char **argv, options *o) {
  enum { O_JSON = 256, O_SIZES, O_BATCH, O_THREADS, O_DEVICE, O_MIN_TIME,
         O_PLUGIN_PATH, O_HELP, O_VERSION, O_GRAD_SCALE };
  static const struct option opts[] = {
      {"json", no_argument, NULL, O_JSON},
      {"sizes", required_argument, NULL, O_SIZES},
      {"batch", required_argument, NULL, O_BATCH},
      {"threads", required_argument, NULL, O_THREADS},
      {"device", required_argument, NULL, O_DEVICE},
      {"min-time", required_argument, NULL, O_MIN_TIME},
      {"grad-scale", required_argument, NULL, O_GRAD_SCALE},
      {"plugin-path", required_argument, NULL, O_PLUGIN_PATH},
      {"help", no_argument, NULL, O_HELP},
      {"version", no_argument, NULL, O_VERSION},
      {NULL, 0, NULL, 0}};
  const char *sizes = "256,512,1024", *batches = "1,10,100";
  long v;
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (c) {
    case O_JSON: o->json = 1; break;
    case O_SIZES: sizes = optarg; break;
    case O_BATCH: batches = optarg; break;
    case O_THREADS:
      if (cli_parse_long(optarg, 1, 1024, &v))
        return cli_usage_error("--threads needs an integer in [1, 1024], got '%s'", optarg);
      o->threads = (int)v;
      break;
    case O_DEVICE: o->device = optarg; break;
    case O_MIN_TIME:
      if (cli_parse_double(optarg, &o->min_time) || o->min_time < 0 || o->min_time > 3600)
        return cli_usage_error("--min-time needs seconds in [0, 3600], got '%s'", optarg);
      break;
    case O_GRAD_SCALE:
      if (cli_parse_double(optarg, &o->grad_scale) || !(o->grad_scale > 0) ||
          o->grad_scale > 1e6)
        return cli_usage_error("--grad-scale needs a number in (0, 1e6], got '%s'", optarg);
      break;
    case O_PLUGIN_PATH:
      if (cli_plugin_paths_add(&o->paths, optarg)) return cli_user_error("out of memory");
      break;
    case O_HELP: fputs(usage_text, stdout); return 100;
    case O_VERSION: cli_print_version(); return 100;
    default:
      return cli_usage_error("unknown option or missing argument: '%s'", argv[optind - 1]);
    }
  }
  if (optind < argc) return cli_usage_error("unexpected argument '%s'", argv[optind]);
  if (parse_shapes(sizes, o))
    return cli_usage_error("--sizes needs up to %d sizes N or OUTxIN (1..65536), "
                           "each optionally @BATCH (1..100000), comma-separated, "
                           "got '%s'",
                           MAX_LIST, sizes);
  if (parse_batches(batches, o))
    return cli_usage_error("--batch needs up to %d batch sizes (1..100000), "
                           "comma-separated, got '%s'",
                           MAX_LIST, batches);
  return -1;
}

static int parse_shapes(const char *s, options *o) {
  char buf[512];
  if (strlen(s) >= sizeof buf) return -1;
  strcpy(buf, s);
  o->n_sizes = 0;
  for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    long a, b, bb = 0;
    if (o->n_sizes == MAX_LIST) return -1;
    char *at = strchr(t, '@');
    if (at != NULL) {
      *at = '\0';
      if (cli_parse_long(at + 1, 1, 100000, &bb)) return -1;
    }
    char *x = strchr(t, 'x');
    if (x != NULL) {
      *x = '\0';
      if (cli_parse_long(t, 1, 65536, &a) || cli_parse_long(x + 1, 1, 65536, &b)) return -1;
    } else {
      if (cli_parse_long(t, 1, 65536, &a)) return -1;
      b = a;
    }
    o->sizes[o->n_sizes].out = (int)a;
    o->sizes[o->n_sizes].in = (int)b;
    o->sizes[o->n_sizes].batch = (int)bb;
    o->n_sizes++;
  }
  return o->n_sizes > 0 ? 0 : -1;
}

static int parse_batches(const char *s, options *o) {
  char buf[512];
  if (strlen(s) >= sizeof buf) return -1;
  strcpy(buf, s);
  o->n_batches = 0;
  for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    long a;
    if (o->n_batches == MAX_LIST || cli_parse_long(t, 1, 100000, &a)) return -1;
    o->batches[o->n_batches++] = (int)a;
  }
  return o->n_batches > 0 ? 0 : -1;
}

/* The three tile kinds with their default configs, built from JSON text. */
static void make_kinds(rpu_context *ctx, const options *o, kind *k) {
  static const char *const tiles[3] = {"floating_point", "analog", "inference"};
  static const char *const types[3] = {"FloatingPointRPUConfig", "SingleRPUConfig",
                                       "InferenceRPUConfig"};
  for (int i = 0; i < 3; i++) {
    char json[512];
    if (i == 1 && o->device != NULL)
      snprintf(json, sizeof json, "{\"rpu_config\": \"%s\", \"device\": {\"type\": \"%s\"}}",
               types[i], o->device);
    else
      snprintf(json, sizeof json, "{\"rpu_config\": \"%s\"}", types[i]);
    k[i].tile = tiles[i];
    k[i].cfg = NULL;
    k[i].device = "-";
    k[i].why[0] = '\0';
    memset(k[i].reported, 0, sizeof k[i].reported);
    if (rpu_config_from_string(&k[i].cfg, ctx, json, types[i]) != 0) {
      snprintf(k[i].why, sizeof k[i].why, "%s", rpu_error_last()->message);
      k[i].cfg = NULL;
      continue;
    }
    const rpu_model_desc *m = rpu_device_spec_model(rpu_config_device(k[i].cfg));
    if (m != NULL) k[i].device = m->name;
  }
}

/* One row: a fresh tile with the benchmark weights, a warm-up (which also
 * finds out whether the op is supported), then alternating timed calls. */
static int bench_row(rpu_context *ctx, const options *o, kind *k,
                     const bufs *b, op_kind op, int *first_json) {
  char why[400] = "";
  rpu_tile *t = NULL;
  double *ta = NULL, *tb = NULL;
  size_t n = 0, cap = 0;
  int unsupported = 0;
  if (k->reported[op]) return CLI_EXIT_OK; /* said once, for its first shape */
  if (k->cfg == NULL) {
    snprintf(why, sizeof why, "%s", k->why);
    unsupported = 1;
  } else if (rpu_tile_new(&t, ctx, k->cfg, b->out, b->in, 1) != 0 ||
             rpu_tile_set_weights(t, b->w) != 0 || tile_op(t, b, op) != 0) {
    snprintf(why, sizeof why, "%s", rpu_error_last()->message);
    unsupported = rpu_error_last()->code == RPU_EUNSUPPORTED;
  }
  if (unsupported) k->reported[op] = 1;
  if (why[0] == '\0') {
    /* warm-up: about a tenth of the measuring time, at least 2 calls */
    double t0 = now_s();
    for (int i = 0; i < 2 || now_s() - t0 < o->min_time / 10; i++) {
      if (op == OP_UPDATE) rpu_tile_set_weights(t, b->w);
      tile_op(t, b, op);
      baseline_op(b, op);
    }
    double start = now_s();
    while (n < 5 || (now_s() - start < 2 * o->min_time && n < 100000)) {
      if (n == cap) {
        cap = cap ? 2 * cap : 64;
        double *na = realloc(ta, cap * sizeof *na);
        if (na != NULL) ta = na;
        double *nb = realloc(tb, cap * sizeof *nb);
        if (nb != NULL) tb = nb;
        if (na == NULL || nb == NULL) {
          free(ta);
          free(tb);
          rpu_tile_free(t);
          return cli_user_error("out of memory");
        }
      }
      if (op == OP_UPDATE && rpu_tile_set_weights(t, b->w) != 0) {
        snprintf(why, sizeof why, "%s", rpu_error_last()->message);
        break;
      }
      double a0 = now_s();
      int rc = tile_op(t, b, op);
      double a1 = now_s();
      baseline_op(b, op);
      double a2 = now_s();
      if (rc != 0) {
        snprintf(why, sizeof why, "%s", rpu_error_last()->message);
        break;
      }
      ta[n] = a1 - a0;
      tb[n] = a2 - a1;
      n++;
    }
  }
  rpu_tile_free(t);
  double ma = why[0] ? 0 : median(ta, n) * 1e6, mb = why[0] ? 0 : median(tb, n) * 1e6;
  free(ta);
  free(tb);
  if (o->json) {
    if (why[0] != '\0') return CLI_EXIT_OK; /* unsupported rows are left out */
    printf("%s\n {\"tile\": ", *first_json ? "" : ",");
    *first_json = 0;
    cli_json_string(stdout, k->tile);
    fputs(", \"device\": ", stdout);
    cli_json_string(stdout, k->device);
    printf(", \"op\": \"%s\", \"out\": %d, \"in\": %d, \"batch\": %d, \"threads\": %d, "
           "\"median_us\": %.3f, \"sgemm_us\": %.3f, \"ratio_vs_sgemm\": %.4f, "
           "\"per_sample_us\": %.4f}",
           op_names[op], b->out, b->in, b->batch, o->threads, ma, mb, ma / mb,
           ma / b->batch);
  } else if (why[0] != '\0') {
    char *nl = strchr(why, '\n');
    if (nl) *nl = '\0';
    printf("%-15s %-22s %-8s %5d %5d %5d %3d unsupported: %s\n", k->tile, k->device,
           op_names[op], b->out, b->in, b->batch, o->threads, why);
  } else {
    printf("%-15s %-22s %-8s %5d %5d %5d %3d %11.1f %11.1f %7.2f %10.3f\n", k->tile,
           k->device, op_names[op], b->out, b->in, b->batch, o->threads, ma, mb, ma / mb,
           ma / b->batch);
  }
  fflush(stdout);
  return CLI_EXIT_OK;
}

static int tile_op(rpu_tile *t, const bufs *b, op_kind op) {
  switch (op) {
  case OP_FORWARD: return rpu_tile_forward(t, b->x, b->y, b->batch);
  case OP_BACKWARD: return rpu_tile_backward(t, b->d, b->dx, b->batch);
  default: return rpu_tile_update(t, b->x, b->d, b->batch, LR);
  }
}

/* The exact operation by plain BLAS: y = x W^T, dx = d W, W -= lr d^T x. */
static void baseline_op(const bufs *b, op_kind op) {
  const int m = b->batch, out = b->out, in = b->in;
  /* Plain OpenBLAS with its own threads, as a user would call it (the
   * library keeps OpenBLAS on one thread and resets it on its next call). */
  if (openblas_get_num_threads() != baseline_threads) openblas_set_num_threads(baseline_threads);
  switch (op) {
  case OP_FORWARD:
    if (m == 1)
      cblas_sgemv(CblasRowMajor, CblasNoTrans, out, in, 1.0f, b->wb, in, b->x, 1, 0.0f,
                  b->y, 1);
    else
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, out, in, 1.0f, b->x, in,
                  b->wb, in, 0.0f, b->y, out);
    break;
  case OP_BACKWARD:
    if (m == 1)
      cblas_sgemv(CblasRowMajor, CblasTrans, out, in, 1.0f, b->wb, in, b->d, 1, 0.0f,
                  b->dx, 1);
    else
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, in, out, 1.0f, b->d, out,
                  b->wb, in, 0.0f, b->dx, in);
    break;
  default:
    if (m == 1)
      cblas_sger(CblasRowMajor, out, in, -LR, b->d, 1, b->x, 1, b->wb, in);
    else
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, m, -LR, b->d, out,
                  b->x, in, 1.0f, b->wb, in);
  }
}

static int bufs_make(bufs *b, int out, int in, int batch, float grad_scale) {
  memset(b, 0, sizeof *b);
  b->out = out;
  b->in = in;
  b->batch = batch;
  size_t nw = (size_t)out * (size_t)in, nb = (size_t)batch;
  b->w = malloc(nw * sizeof(float));
  b->wb = malloc(nw * sizeof(float));
  b->x = malloc(nb * (size_t)in * sizeof(float));
  b->dx = malloc(nb * (size_t)in * sizeof(float));
  b->d = malloc(nb * (size_t)out * sizeof(float));
  b->y = malloc(nb * (size_t)out * sizeof(float));
  if (!b->w || !b->wb || !b->x || !b->dx || !b->d || !b->y) {
    bufs_free(b);
    return -1;
  }
  fill_uniform(b->w, nw, 1.0f / sqrtf((float)in), 0);
  memcpy(b->wb, b->w, nw * sizeof(float));
  fill_uniform(b->x, nb * (size_t)in, 1.0f, 1);
  fill_uniform(b->d, nb * (size_t)out, grad_scale, 2);
  return 0;
}

static void bufs_free(bufs *b) {
  free(b->w);
  free(b->wb);
  free(b->x);
  free(b->dx);
  free(b->d);
  free(b->y);
  memset(b, 0, sizeof *b);
}

/* Uniform in (-half_width, half_width) from the library's generator. */
static void fill_uniform(float *v, size_t n, float half_width, uint32_t sub) {
  rpu_rng_stream s = rpu_rng_stream_make(12345, 0, RPU_RNG_DATA);
  s.sub = sub;
  rpu_rng_fill_uniform(&s, 0, v, n);
  for (size_t i = 0; i < n; i++) v[i] = half_width * (2.0f * v[i] - 1.0f);
}

static double median(double *v, size_t n) {
  qsort(v, n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}
