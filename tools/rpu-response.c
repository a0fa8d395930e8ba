/* rpu-response — the pulse response of a device (DESIGN.md §8).
 *
 *   rpu-response --config C.json [--size R,C] [--pulses N] [--cycles K]
 *                [--w0 V] [--seed S] [--csv F] [--svg F]
 *                [--plugin-path DIR]...
 *
 * A tile of R x C elements is built from the config and its weights set
 * to w0; then K cycles of N single up pulses followed by N single down
 * pulses are sent to every element through the device's pulse hook
 * (rpu_tile_apply_pulses: count -1 = up, +1 = down, SPEC.md §3.3).  After
 * each pulse the weights are read directly (rpu_tile_get_weights, not
 * through the noisy forward pass, as device plots in this field do) and
 * one CSV row `step,direction,mean,std,min,max` over the R x C elements is
 * written.  --svg draws the mean ± std band of each direction. */
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpu/rpu.h"
#include "tools/cli.h"
#include "tools/svg.h"


#define MAX_ELEMENTS (1L << 26) /* R·C: 256 MiB per float buffer */
#define MAX_STEPS 10000000L     /* K·2N rows */
#define AUTO_MAX_PULSES 10000L
#define PLOT_POINTS 2000 /* per direction segment in the SVG */

static const char usage_text[] =
    "Usage: rpu-response --config C.json [OPTIONS]\n"
    "\n"
    "The pulse response of the config's device: from w0, K cycles of N single up\n"
    "pulses then N single down pulses on every element of an R x C tile, the\n"
    "weights read directly after each pulse.  Writes one CSV row per pulse,\n"
    "step,direction,mean,std,min,max over the R x C elements (std: population\n"
    "standard deviation), and optionally an SVG plot of mean +/- std.\n"
    "\n"
    "Options:\n"
    "  --config C.json      the RPU config (e.g. a SingleRPUConfig) (required)\n"
    "  --size R,C           tile size, rows x columns (default 10,10)\n"
    "  --pulses N           pulses per direction and cycle (default: the device's\n"
    "                       number of states (w_max - w_min) / granularity\n"
    "                       (SPEC.md 4.3), rounded up and capped at 10000; 100 if\n"
    "                       the device does not state w_min, w_max)\n"
    "  --cycles K           up/down cycles (default 1)\n"
    "  --w0 V               initial weight of every element, clipped by the\n"
    "                       device to its bounds (default 0)\n"
    "  --seed S             tile seed: device-to-device and cycle-to-cycle\n"
    "                       variation (default 0; 0 is an ordinary seed)\n"
    "  --csv F              write the CSV to F (default: standard output)\n"
    "  --svg F              also write an SVG plot to F\n"
    "  --plugin-path DIR    search DIR for plugins first (repeatable)\n"
    "  --help               show this help and exit\n"
    "  --version            show the version and exit\n"
    "\n"
    "Steps are numbered from 1; direction is \"up\" or \"down\".\n"
    "Exit status: 0 ok, 1 error in a file, config or plugin, 2 bad usage.\n";

typedef struct args {
  const char *config;
  long rows, cols;
  long pulses; /* 0: automatic */
  long cycles;
  double w0;
  uint64_t seed;
  const char *csv;
  const char *svg;
  cli_plugin_paths paths;
} args;

/* Statistics of one read-out. */
typedef struct stat_row {
  double mean, std, min, max;
} stat_row;

static int parse_args(int argc, char **argv, args *a);
static int parse_size(const char *s, long *rows, long *cols);
static int run(const args *a);
static long auto_pulses(const rpu_config *cfg);
static int find_real(const rpu_model_desc *m, const void *params,
                     const char *name, double *out);
static stat_row stats(const float *w, size_t n);
static int write_svg(const args *a, const char *device, const stat_row *st,
                     long n_steps, long pulses, const stat_row *initial);

int main(int argc, char **argv) {
  cli_set_program("rpu-response");
  args a;
  memset(&a, 0, sizeof a);
  int rc = parse_args(argc, argv, &a);
  if (rc < 0)
    rc = CLI_EXIT_OK; /* --help / --version done */
  else if (rc == 0)
    rc = run(&a);
  cli_plugin_paths_free(&a.paths);
  if (fflush(stdout) != 0 && rc == CLI_EXIT_OK)
    rc = cli_user_error("cannot write the output");
  return rc;
}

/* ----- Command line ----------------------------------------------------- */

/* Returns -1 after --help / --version, 0 to run, or an exit code. */
static int parse_args(int argc, char **argv, args *a) {
  enum { O_CONFIG = 256, O_SIZE, O_PULSES, O_CYCLES, O_W0, O_SEED, O_CSV,
         O_SVG, O_PATH, O_HELP, O_VERSION };
  static const struct option longopts[] = {
      {"config", required_argument, NULL, O_CONFIG},
      {"size", required_argument, NULL, O_SIZE},
      {"pulses", required_argument, NULL, O_PULSES},
      {"cycles", required_argument, NULL, O_CYCLES},
      {"w0", required_argument, NULL, O_W0},
      {"seed", required_argument, NULL, O_SEED},
      {"csv", required_argument, NULL, O_CSV},
      {"svg", required_argument, NULL, O_SVG},
      {"plugin-path", required_argument, NULL, O_PATH},
      {"help", no_argument, NULL, O_HELP},
      {"version", no_argument, NULL, O_VERSION},
      {NULL, 0, NULL, 0}};
  a->rows = a->cols = 10;
  a->cycles = 1;
  opterr = 0;
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
    switch (c) {
    case O_CONFIG: a->config = optarg; break;
    case O_SIZE:
      if (parse_size(optarg, &a->rows, &a->cols) != 0)
        return cli_usage_error("--size '%s': expected R,C with R, C >= 1 and "
                               "R*C <= %ld",
                               optarg, MAX_ELEMENTS);
      break;
    case O_PULSES:
      if (cli_parse_long(optarg, 1, MAX_STEPS / 2, &a->pulses) != 0)
        return cli_usage_error("--pulses '%s': expected an integer in [1, %ld]",
                               optarg, MAX_STEPS / 2);
      break;
    case O_CYCLES:
      if (cli_parse_long(optarg, 1, MAX_STEPS / 2, &a->cycles) != 0)
        return cli_usage_error("--cycles '%s': expected an integer in [1, %ld]",
                               optarg, MAX_STEPS / 2);
      break;
    case O_W0:
      if (cli_parse_double(optarg, &a->w0) != 0)
        return cli_usage_error("--w0 '%s': expected a finite number", optarg);
      break;
    case O_SEED:
      if (cli_parse_u64(optarg, &a->seed) != 0)
        return cli_usage_error("--seed '%s': expected an integer >= 0", optarg);
      break;
    case O_CSV: a->csv = optarg; break;
    case O_SVG: a->svg = optarg; break;
    case O_PATH:
      if (optarg[0] == '\0')
        return cli_usage_error("--plugin-path needs a directory");
      if (cli_plugin_paths_add(&a->paths, optarg) != 0)
        return cli_user_error("out of memory");
      break;
    case O_HELP: fputs(usage_text, stdout); return -1;
    case O_VERSION: cli_print_version(); return -1;
    case ':': return cli_usage_error("%s needs a value", argv[optind - 1]);
    default: return cli_usage_error("unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind < argc)
    return cli_usage_error("unexpected argument '%s'", argv[optind]);
  if (a->config == NULL) return cli_usage_error("--config is required");
  if (a->pulses > 0 && a->cycles * 2 * a->pulses > MAX_STEPS)
    return cli_usage_error("--cycles x 2 x --pulses is above %ld steps",
                           MAX_STEPS);
  return 0;
}

static int parse_size(const char *s, long *rows, long *cols) {
  const char *comma = strchr(s, ',');
  if (comma == NULL || comma - s > 30) return -1;
  char head[32];
  memcpy(head, s, (size_t)(comma - s));
  head[comma - s] = '\0';
  if (cli_parse_long(head, 1, MAX_ELEMENTS, rows) != 0 ||
      cli_parse_long(comma + 1, 1, MAX_ELEMENTS, cols) != 0)
    return -1;
  return *rows * *cols <= MAX_ELEMENTS ? 0 : -1;
}

/* ----- The measurement -------------------------------------------------- */

static int run(const args *a) {
  rpu_context *ctx = NULL;
  rpu_config *cfg = NULL;
  rpu_tile *t = NULL;
  float *w = NULL;
  int32_t *counts = NULL;
  stat_row *st = NULL;
  FILE *out = stdout;
  int rc = cli_context_new(&ctx, &a->paths, NULL, 0);
  if (rc != CLI_EXIT_OK) return rc;
  if (rpu_config_from_file(&cfg, ctx, a->config) != 0) {
    rc = cli_rpu_error(NULL);
    goto done;
  }
  const rpu_model_desc *model = rpu_device_spec_model(rpu_config_device(cfg));
  const char *device = model != NULL ? model->name : "?";
  long pulses = a->pulses > 0 ? a->pulses : auto_pulses(cfg);
  if (a->cycles * 2 * pulses > MAX_STEPS) {
    rc = cli_usage_error("--cycles x 2 x pulses (%ld automatic) is above %ld "
                         "steps",
                         pulses, MAX_STEPS);
    goto done;
  }
  if (rpu_tile_new(&t, ctx, cfg, (int)a->rows, (int)a->cols, a->seed) != 0) {
    rc = cli_rpu_error(a->config);
    goto done;
  }
  size_t n = (size_t)a->rows * (size_t)a->cols;
  long n_steps = a->cycles * 2 * pulses;
  w = malloc(n * sizeof *w);
  counts = malloc(n * sizeof *counts);
  if (a->svg != NULL) /* the plot needs every step; the CSV does not */
    st = malloc((size_t)n_steps * sizeof *st);
  if (w == NULL || counts == NULL || (a->svg != NULL && st == NULL)) {
    rc = cli_user_error("out of memory for %ld x %ld elements and %ld steps",
                        a->rows, a->cols, n_steps);
    goto done;
  }
  for (size_t k = 0; k < n; k++) w[k] = (float)a->w0;
  if (rpu_tile_set_weights(t, w) != 0 || rpu_tile_get_weights(t, w) != 0) {
    rc = cli_rpu_error(a->config);
    goto done;
  }
  stat_row initial = stats(w, n);
  if (a->csv != NULL && (out = fopen(a->csv, "w")) == NULL) {
    out = stdout;
    rc = cli_user_error("%s: cannot open for writing", a->csv);
    goto done;
  }
  fputs("step,direction,mean,std,min,max\n", out);
  long step = 0;
  for (long cyc = 0; cyc < a->cycles; cyc++) {
    for (int dir = 0; dir < 2; dir++) {
      /* SPEC.md §3.3: negative counts are up pulses, positive down */
      int32_t c = dir == 0 ? -1 : 1;
      for (size_t k = 0; k < n; k++) counts[k] = c;
      for (long q = 0; q < pulses; q++) {
        if (rpu_tile_apply_pulses(t, counts) != 0 ||
            rpu_tile_get_weights(t, w) != 0) {
          rc = cli_rpu_error(a->config);
          goto done;
        }
        stat_row r = stats(w, n);
        if (st != NULL) st[step] = r;
        fprintf(out, "%ld,%s,%.9g,%.9g,%.9g,%.9g\n", step + 1,
                dir == 0 ? "up" : "down", r.mean, r.std, r.min, r.max);
        step++;
      }
    }
  }
  if (ferror(out) || (out != stdout && fclose(out) != 0)) {
    out = stdout;
    rc = cli_user_error("%s: write error", a->csv ? a->csv : "standard output");
    goto done;
  }
  out = stdout;
  if (a->svg != NULL) rc = write_svg(a, device, st, n_steps, pulses, &initial);
done:
  if (out != stdout) fclose(out);
  free(st);
  free(counts);
  free(w);
  rpu_tile_free(t);
  rpu_config_free(cfg);
  rpu_context_free(ctx);
  return rc;
}

/* (w_max - w_min) / granularity (SPEC.md §4.3, num_states) from the
 * device's typed parameters and its granularity hook; 100 if unknown. */
static long auto_pulses(const rpu_config *cfg) {
  const rpu_device_spec *spec = rpu_config_device(cfg);
  const rpu_model_desc *m = rpu_device_spec_model(spec);
  const void *params = rpu_device_spec_params(spec);
  if (m == NULL || params == NULL || m->kind != RPU_MODEL_DEVICE) return 100;
  const rpu_device_vtable *vt = m->vtable;
  double w_min, w_max;
  if (vt == NULL ||
      vt->struct_size < offsetof(rpu_device_vtable, granularity) +
                            sizeof vt->granularity ||
      vt->granularity == NULL || find_real(m, params, "w_min", &w_min) != 0 ||
      find_real(m, params, "w_max", &w_max) != 0)
    return 100;
  double g = vt->granularity(params);
  if (!(g > 0.0) || !isfinite(g) || !(w_max > w_min)) return 100;
  double states = ceil((w_max - w_min) / g);
  return states > (double)AUTO_MAX_PULSES ? AUTO_MAX_PULSES
                                          : (states < 1.0 ? 1 : (long)states);
}

/* A REAL parameter of a model by name, read at its schema offset. */
static int find_real(const rpu_model_desc *m, const void *params,
                     const char *name, double *out) {
  for (uint32_t k = 0; k < m->n_params; k++) {
    const rpu_param_desc *p = (const rpu_param_desc *)(const void *)(
        (const char *)m->params + (size_t)k * m->param_desc_size);
    if (p->type == RPU_PARAM_REAL && strcmp(p->name, name) == 0) {
      memcpy(out, (const char *)params + p->offset, sizeof *out);
      return isfinite(*out) ? 0 : -1;
    }
  }
  return -1;
}

/* Mean, population standard deviation, min and max (two passes, double). */
static stat_row stats(const float *w, size_t n) {
  stat_row s = {0.0, 0.0, INFINITY, -INFINITY};
  double sum = 0.0;
  for (size_t k = 0; k < n; k++) {
    sum += w[k];
    if (w[k] < s.min) s.min = w[k];
    if (w[k] > s.max) s.max = w[k];
  }
  s.mean = sum / (double)n;
  double ss = 0.0;
  for (size_t k = 0; k < n; k++) {
    double e = w[k] - s.mean;
    ss += e * e;
  }
  s.std = sqrt(ss / (double)n);
  return s;
}

/* ----- The plot ---------------------------------------------------------- */

/* One polyline and band per direction segment (every N steps), each
 * starting where the previous one ended; blue up, orange down. */
static int write_svg(const args *a, const char *device, const stat_row *st,
                     long n_steps, long pulses, const stat_row *initial) {
  static const char *const colors[2] = {"#1f77b4", "#d95f02"};
  static const char *const labels[2] = {"up pulses: mean \xc2\xb1 std",
                                        "down pulses: mean \xc2\xb1 std"};
  FILE *f = fopen(a->svg, "w");
  if (f == NULL) return cli_user_error("%s: cannot open for writing", a->svg);
  double lo = initial->mean - initial->std, hi = initial->mean + initial->std;
  for (long k = 0; k < n_steps; k++) {
    if (st[k].mean - st[k].std < lo) lo = st[k].mean - st[k].std;
    if (st[k].mean + st[k].std > hi) hi = st[k].mean + st[k].std;
  }
  double pad = 0.05 * (hi - lo);
  char title[512], sub[256];
  snprintf(title, sizeof title, "Pulse response of %s (%s)", device,
           a->config);
  snprintf(sub, sizeof sub,
           "%ld x %ld elements, %ld up + %ld down pulses per cycle, %ld "
           "cycle%s, w0 = %g, seed %llu",
           a->rows, a->cols, pulses, pulses, a->cycles,
           a->cycles == 1 ? "" : "s", a->w0, (unsigned long long)a->seed);
  svg_doc d;
  svg_begin(&d, f, 920, 520, title);
  svg_text(&d, 460, 24, 15, "middle", 0, "#000000", title);
  svg_text(&d, 460, 42, 11, "middle", 0, "#555555", sub);
  svg_plot p; /* the legend goes to the right of the 610 px plot */
  svg_plot_init(&p, &d, 80, 60, 610, 390, 0, (double)n_steps, lo - pad,
                hi + pad);
  svg_plot_axes(&p, "pulse number", "weight");
  size_t cap = PLOT_POINTS + 2;
  double *x = malloc(cap * sizeof *x), *m = malloc(cap * sizeof *m);
  double *l = malloc(cap * sizeof *l), *h = malloc(cap * sizeof *h);
  int rc = CLI_EXIT_OK;
  if (x == NULL || m == NULL || l == NULL || h == NULL) {
    rc = cli_user_error("out of memory for the plot");
    goto out;
  }
  long stride = (pulses + PLOT_POINTS - 1) / PLOT_POINTS;
  for (long seg = 0; seg * pulses < n_steps; seg++) {
    long s0 = seg * pulses; /* the segment's pulses are steps s0+1..s0+N */
    const stat_row *start = s0 == 0 ? initial : &st[s0 - 1];
    size_t np = 0;
    x[np] = (double)s0;
    m[np] = start->mean;
    l[np] = start->mean - start->std;
    h[np++] = start->mean + start->std;
    for (long q = 0; q < pulses; q++) {
      if ((q + 1) % stride != 0 && q != pulses - 1) continue;
      const stat_row *r = &st[s0 + q];
      x[np] = (double)(s0 + q + 1);
      m[np] = r->mean;
      l[np] = r->mean - r->std;
      h[np++] = r->mean + r->std;
    }
    const char *col = colors[seg % 2];
    svg_plot_band(&p, x, l, h, np, col, 0.25);
    svg_plot_line(&p, x, m, np, col, 1.6);
  }
  svg_plot_legend(&p, labels, colors, 2);
  svg_end(&d);
out:
  free(x);
  free(m);
  free(l);
  free(h);
  if (ferror(f) && rc == CLI_EXIT_OK) rc = cli_user_error("%s: write error", a->svg);
  if (fclose(f) != 0 && rc == CLI_EXIT_OK)
    rc = cli_user_error("%s: write error", a->svg);
  return rc;
}
