/* rpu-mvm — one tile used as a plain (noisy) matrix (DESIGN.md §8).
 *
 * Sets the weights from a CSV file (out rows x in columns), runs every input
 * row through forward (or backward) N times with fresh noise and prints one
 * output row per input row and repeat (repeat-major). */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpu/rpu.h"
#include "tools/cli.h"
#include "tools/csv.h"

static const char usage_text[] =
    "Usage: rpu-mvm --config C.json --weights W.csv --input X.csv [options]\n"
    "\n"
    "Uses one tile as a matrix: sets its weights from W.csv (out rows x in\n"
    "columns), runs every row of X.csv through the forward pass (or the\n"
    "backward pass) and prints one output row per input row and repeat.\n"
    "\n"
    "Options:\n"
    "  --config FILE       RPU config (JSON)\n"
    "  --weights FILE      weights, CSV, out_size rows x in_size columns\n"
    "  --input FILE        inputs, CSV, one vector per row (in_size columns,\n"
    "                      or out_size with --backward)\n"
    "  --backward          run the backward pass (W^T d) instead of forward\n"
    "  --repeat N          run the inputs N times with fresh noise (default 1)\n"
    "  --seed S            seed of the tile's random streams (default 0)\n"
    "  --program           program the weights (inference tiles) first\n"
    "  --drift T           program, then drift the weights to T seconds\n"
    "  --out FILE          write the output to FILE instead of stdout\n"
    "  --json              print JSON: [{\"repeat\",\"row\",\"y\"}, ...]\n"
    "  --plugin-path DIR   also load plugins from DIR (repeatable)\n"
    "  --help, --version\n"
    "\n"
    "CSV files: numbers separated by commas, one row per line; blank lines\n"
    "and lines starting with '#' are skipped.  Outputs are printed with 9\n"
    "significant digits (exact for floats); NaN outputs as nan (CSV) or null\n"
    "(JSON).\n"
    "\n"
    "Exit status: 0 ok, 1 error in the inputs, 2 bad usage.\n";

typedef struct options {
  const char *config, *weights, *input, *out_path;
  cli_plugin_paths paths;
  int backward, program, json, have_drift;
  long repeat;
  uint64_t seed;
  double drift_t;
} options;

static int parse_args(int argc, char **argv, options *o);
static int run(const options *o);
static int first_data_line(const char *path);
static void print_json(FILE *f, const float *y, int rows, int cols, long repeat);

int main(int argc, char **argv) {
  cli_set_program("rpu-mvm");
  options o;
  memset(&o, 0, sizeof o);
  o.repeat = 1;
  int rc = parse_args(argc, argv, &o);
  if (rc < 0)
    rc = run(&o);
  else if (rc == CLI_EXIT_OK + 100) /* --help / --version done */
    rc = CLI_EXIT_OK;
  cli_plugin_paths_free(&o.paths);
  return rc;
}

/* Returns -1 to go on, CLI_EXIT_USAGE on bad usage, 100 after --help or
 * --version. */
static int parse_args(int argc, char **argv, options *o) {
  enum { O_CONFIG = 256, O_WEIGHTS, O_INPUT, O_BACKWARD, O_REPEAT, O_SEED,
         O_PROGRAM, O_DRIFT, O_OUT, O_JSON, O_PLUGIN_PATH, O_HELP, O_VERSION };
  static const struct option opts[] = {
      {"config", required_argument, NULL, O_CONFIG},
      {"weights", required_argument, NULL, O_WEIGHTS},
      {"input", required_argument, NULL, O_INPUT},
      {"backward", no_argument, NULL, O_BACKWARD},
      {"repeat", required_argument, NULL, O_REPEAT},
      {"seed", required_argument, NULL, O_SEED},
      {"program", no_argument, NULL, O_PROGRAM},
      {"drift", required_argument, NULL, O_DRIFT},
      {"out", required_argument, NULL, O_OUT},
      {"json", no_argument, NULL, O_JSON},
      {"plugin-path", required_argument, NULL, O_PLUGIN_PATH},
      {"help", no_argument, NULL, O_HELP},
      {"version", no_argument, NULL, O_VERSION},
      {NULL, 0, NULL, 0}};
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (c) {
    case O_CONFIG: o->config = optarg; break;
    case O_WEIGHTS: o->weights = optarg; break;
    case O_INPUT: o->input = optarg; break;
    case O_BACKWARD: o->backward = 1; break;
    case O_REPEAT:
      if (cli_parse_long(optarg, 1, 1000000, &o->repeat))
        return cli_usage_error("--repeat needs an integer in [1, 1000000], got '%s'",
                               optarg);
      break;
    case O_SEED:
      if (cli_parse_u64(optarg, &o->seed))
        return cli_usage_error("--seed needs a non-negative integer, got '%s'", optarg);
      break;
    case O_PROGRAM: o->program = 1; break;
    case O_DRIFT:
      if (cli_parse_double(optarg, &o->drift_t) || o->drift_t < 0)
        return cli_usage_error("--drift needs a time >= 0 in seconds, got '%s'", optarg);
      o->have_drift = 1;
      break;
    case O_OUT: o->out_path = optarg; break;
    case O_JSON: o->json = 1; break;
    case O_PLUGIN_PATH:
      if (cli_plugin_paths_add(&o->paths, optarg))
        return cli_user_error("out of memory");
      break;
    case O_HELP: fputs(usage_text, stdout); return 100;
    case O_VERSION: cli_print_version(); return 100;
    default:
      return cli_usage_error("unknown option or missing argument: '%s'",
                             argv[optind - 1]);
    }
  }
  if (optind < argc) return cli_usage_error("unexpected argument '%s'", argv[optind]);
  if (!o->config || !o->weights || !o->input)
    return cli_usage_error("--config, --weights and --input are required");
  return -1;
}

static int run(const options *o) {
  int status = CLI_EXIT_USER;
  rpu_context *ctx = NULL;
  rpu_config *cfg = NULL;
  rpu_tile *tile = NULL;
  csv_matrix w = {0}, x = {0};
  float *y = NULL;
  FILE *out = stdout;
  char err[1024];

  if (cli_context_new(&ctx, &o->paths, NULL, 0) != CLI_EXIT_OK) goto done;
  if (rpu_config_from_file(&cfg, ctx, o->config)) {
    cli_rpu_error(NULL); /* the message starts with the file name */
    goto done;
  }
  if (csv_read(o->weights, &w, err, sizeof err) ||
      csv_read(o->input, &x, err, sizeof err)) {
    cli_user_error("%s", err);
    goto done;
  }
  const int in_width = o->backward ? w.rows : w.cols;
  const int out_width = o->backward ? w.cols : w.rows;
  if (x.cols != in_width) {
    /* name the first column that is missing or surplus */
    int col = x.cols < in_width ? x.cols + 1 : in_width + 1;
    cli_user_error("%s: row %d, column %d: expected %d columns (the %s of %s, "
                   "%d x %d), found %d",
                   o->input, first_data_line(o->input), col, in_width,
                   o->backward ? "rows" : "columns", o->weights, w.rows, w.cols, x.cols);
    goto done;
  }
  if (rpu_tile_new(&tile, ctx, cfg, w.rows, w.cols, o->seed)) {
    cli_rpu_error("cannot create the tile");
    goto done;
  }
  if (rpu_tile_set_weights(tile, w.v)) {
    cli_rpu_error(o->weights);
    goto done;
  }
  if ((o->program || o->have_drift) && rpu_tile_program(tile)) {
    cli_rpu_error(o->have_drift ? "--drift" : "--program");
    goto done;
  }
  if (o->have_drift && rpu_tile_drift(tile, o->drift_t)) {
    cli_rpu_error("--drift");
    goto done;
  }
  y = malloc((size_t)x.rows * (size_t)out_width * sizeof *y);
  if (y == NULL) {
    cli_user_error("out of memory");
    goto done;
  }
  if (o->out_path && (out = fopen(o->out_path, "w")) == NULL) {
    cli_user_error("%s: cannot write: %s", o->out_path, strerror(errno));
    out = stdout;
    goto done;
  }
  for (long r = 0; r < o->repeat; r++) {
    int rc = o->backward ? rpu_tile_backward(tile, x.v, y, x.rows)
                         : rpu_tile_forward(tile, x.v, y, x.rows);
    if (rc) {
      cli_rpu_error(o->backward ? "backward" : "forward");
      goto done;
    }
    if (o->json)
      print_json(out, y, x.rows, out_width, r);
    else
      csv_write_rows(out, y, x.rows, out_width);
  }
  if (o->json) fputs("]\n", out);
  status = CLI_EXIT_OK;

done:
  if (out != stdout && fclose(out) != 0 && status == CLI_EXIT_OK)
    status = cli_user_error("%s: write error", o->out_path);
  else if (out == stdout && fflush(stdout) != 0 && status == CLI_EXIT_OK)
    status = cli_user_error("write error on standard output");
  free(y);
  csv_free(&w);
  csv_free(&x);
  rpu_tile_free(tile);
  rpu_config_free(cfg);
  rpu_context_free(ctx);
  return status;
}

/* Line number of the first data row (csv.h skips blank and '#' lines), so
 * messages use the same row numbers as the CSV reader's own. */
static int first_data_line(const char *path) {
  FILE *f = fopen(path, "r");
  if (f == NULL) return 1;
  char *buf = NULL;
  size_t cap = 0;
  int line = 0, found = 0;
  while (!found && getline(&buf, &cap, f) != -1) {
    line++;
    const char *p = buf + strspn(buf, " \t\r");
    found = *p != '\0' && *p != '\n' && *p != '#';
  }
  free(buf);
  fclose(f);
  return found ? line : 1;
}

static void print_json(FILE *f, const float *y, int rows, int cols, long repeat) {
  for (int i = 0; i < rows; i++) {
    fprintf(f, "%s{\"repeat\":%ld,\"row\":%d,\"y\":[", (repeat || i) ? ",\n " : "[",
            repeat, i);
    for (int j = 0; j < cols; j++) {
      if (j) fputc(',', f);
      /* %.9g: exact for a float; NaN and Inf print null */
      float v = y[(size_t)i * (size_t)cols + (size_t)j];
      if (v != v || v - v != 0)
        fputs("null", f);
      else
        fprintf(f, "%.9g", (double)v);
    }
    fputs("]}", f);
  }
}
