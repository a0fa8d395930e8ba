/* rpu-plugins — list, describe and check plugins and configs (DESIGN.md §8).
 *
 *   rpu-plugins list [--all] [--json] [--plugin-path DIR]...
 *   rpu-plugins describe NAME [--json] [--plugin-path DIR]...
 *   rpu-plugins config TYPE [--doc] [--plugin-path DIR]...
 *   rpu-plugins check FILE [--plugin-path DIR]...
 *
 * Output formats are a contract (docs/cli.md); the JSON is written by hand
 * through tools/cli.c because tools see only include/rpu. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpu/rpu.h"
#include "tools/cli.h"

static const char usage_text[] =
    "Usage: rpu-plugins COMMAND [ARG] [OPTIONS]\n"
    "\n"
    "Commands:\n"
    "  list                 one row per registered model: kind, name, plugin, file\n"
    "  describe NAME        a model's summary and every parameter (type, default,\n"
    "                       range, unit, doc)\n"
    "  config TYPE          a complete default config of an RPU config type\n"
    "                       (FloatingPointRPUConfig, SingleRPUConfig, UnitCellRPUConfig,\n"
    "                       InferenceRPUConfig, DigitalRankUpdateRPUConfig); with\n"
    "                       --doc, every parameter of its device and sections with\n"
    "                       type, default, range, unit and doc\n"
    "  check FILE           FILE.json: parse the config fully and build a small tile\n"
    "                       with it; otherwise FILE is a plugin: load it first,\n"
    "                       validate its descriptor and create/pulse/destroy each model\n"
    "\n"
    "Options:\n"
    "  --all                list: also the files that were rejected, with the reason\n"
    "  --json               list, describe: machine-readable output\n"
    "  --doc                config: the parameter reference instead of JSON\n"
    "  --plugin-path DIR    search DIR for plugins first (repeatable)\n"
    "  --help               show this help and exit\n"
    "  --version            show the version and exit\n"
    "\n"
    "Plugins are searched in the --plugin-path directories, then RPU_PLUGIN_PATH\n"
    "(colon-separated), then RPU_PLUGIN_SYSTEM_PATH if set (even empty), else the\n"
    "installed plugin directory.\n"
    "\n"
    "Exit status: 0 ok, 1 error in a file, config or plugin, 2 bad usage.\n";

typedef struct args {
  const char *command;
  const char *operand; /* NAME, TYPE or FILE */
  int all;
  int json;
  int doc; /* config --doc */
  cli_plugin_paths paths;
} args;

static int parse_args(int argc, char **argv, args *a);
static int cmd_list(const args *a);
static int cmd_describe(const args *a);
static int cmd_config(const args *a);
static int cmd_check(const args *a);
static int check_config_file(const args *a);
static int check_plugin_file(const args *a);
static void print_param_human(const rpu_param_desc *p, int widths[5]);
static void param_strings(const rpu_param_desc *p, char *def, size_t def_len, char *range,
                          size_t range_len);
static void print_default_json(const rpu_param_desc *p);
static int has_numeric_range(const rpu_param_desc *p);
static void print_param_table(const rpu_param_desc *params, size_t n);
static int print_config_doc(const rpu_config *cfg);
static void print_padded(const char *s, int width);

int main(int argc, char **argv) {
  cli_set_program("rpu-plugins");
  args a;
  memset(&a, 0, sizeof a);
  int rc = parse_args(argc, argv, &a);
  if (rc < 0) {
    rc = CLI_EXIT_OK; /* --help / --version done */
  } else if (rc == 0) {
    if (strcmp(a.command, "list") == 0)
      rc = cmd_list(&a);
    else if (strcmp(a.command, "describe") == 0)
      rc = cmd_describe(&a);
    else if (strcmp(a.command, "config") == 0)
      rc = cmd_config(&a);
    else
      rc = cmd_check(&a);
  }
  cli_plugin_paths_free(&a.paths);
  if (fflush(stdout) != 0 && rc == CLI_EXIT_OK) rc = cli_user_error("cannot write the output");
  return rc;
}

/* ----- command line ------------------------------------------------------- */

/* 0: run a.command; -1: --help/--version printed; else an exit code. */
static int parse_args(int argc, char **argv, args *a) {
  static const struct option longopts[] = {
      {"all", no_argument, NULL, 'a'},          {"json", no_argument, NULL, 'j'},
      {"plugin-path", required_argument, NULL, 'p'}, {"help", no_argument, NULL, 'h'},
      {"version", no_argument, NULL, 'V'},      {"doc", no_argument, NULL, 'd'},
      {NULL, 0, NULL, 0}};
  if (argc < 2) return cli_usage_error("missing command (list, describe, config, check)");
  const char *cmd = argv[1];
  if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
    fputs(usage_text, stdout);
    return -1;
  }
  if (strcmp(cmd, "--version") == 0) {
    cli_print_version();
    return -1;
  }
  if (strcmp(cmd, "list") != 0 && strcmp(cmd, "describe") != 0 &&
      strcmp(cmd, "config") != 0 && strcmp(cmd, "check") != 0)
    return cli_usage_error("unknown command '%s' (list, describe, config, check)", cmd);
  a->command = cmd;
  /* getopt on argv+1: the command plays argv[0].  GNU getopt moves the
   * operands behind the options, so they may come in any order. */
  char **av = argv + 1;
  int ac = argc - 1;
  opterr = 0;
  optind = 1;
  int c;
  while ((c = getopt_long(ac, av, ":", longopts, NULL)) != -1) {
    switch (c) {
    case 'a': a->all = 1; break;
    case 'j': a->json = 1; break;
    case 'd': a->doc = 1; break;
    case 'p':
      if (optarg[0] == '\0') return cli_usage_error("--plugin-path needs a directory");
      if (cli_plugin_paths_add(&a->paths, optarg) != 0) return cli_user_error("out of memory");
      break;
    case 'h': fputs(usage_text, stdout); return -1;
    case 'V': cli_print_version(); return -1;
    case ':': return cli_usage_error("option '%s' needs an argument", av[optind - 1]);
    default: return cli_usage_error("unknown option '%s'", av[optind - 1]);
    }
  }
  for (; optind < ac; optind++) {
    if (a->operand != NULL) return cli_usage_error("unexpected argument '%s'", av[optind]);
    a->operand = av[optind];
  }
  int list = strcmp(cmd, "list") == 0;
  if (a->all && !list) return cli_usage_error("--all is an option of 'list' only");
  if (a->doc && strcmp(cmd, "config") != 0)
    return cli_usage_error("--doc is an option of 'config' only");
  if (a->json && strcmp(cmd, "list") != 0 && strcmp(cmd, "describe") != 0)
    return cli_usage_error("--json is an option of 'list' and 'describe' only");
  if (list && a->operand != NULL)
    return cli_usage_error("unexpected argument '%s'", a->operand);
  if (!list && a->operand == NULL)
    return cli_usage_error("'%s' needs %s", cmd,
                           strcmp(cmd, "describe") == 0 ? "a model NAME"
                           : strcmp(cmd, "config") == 0 ? "a config TYPE"
                                                        : "a FILE");
  return 0;
}

/* ----- list ----------------------------------------------------------------- */

static int cmd_list(const args *a) {
  rpu_context *ctx = NULL;
  int rc = cli_context_new(&ctx, &a->paths, NULL, 0);
  if (rc != 0) return rc;
  size_t n = rpu_context_model_count(ctx), nf = rpu_context_file_count(ctx);
  rpu_model_entry e;
  rpu_plugin_file f;
  if (a->json) {
    int first = 1;
    printf("[");
    for (size_t i = 0; i < n; i++) {
      if (rpu_context_model_at(ctx, i, &e) != 0) continue;
      printf("%s\n  {\"name\": ", first ? "" : ",");
      cli_json_string(stdout, e.name);
      printf(", \"kind\": ");
      cli_json_string(stdout, rpu_model_kind_name(e.kind));
      printf(", \"class\": ");
      cli_json_string(stdout, e.kind == RPU_MODEL_DEVICE ? rpu_device_class_name(e.device_class)
                                                         : NULL);
      printf(", \"plugin\": ");
      cli_json_string(stdout, e.plugin);
      printf(", \"file\": ");
      cli_json_string(stdout, e.file);
      printf("}");
      first = 0;
    }
    for (size_t i = 0; a->all && i < nf; i++) {
      if (rpu_context_file_at(ctx, i, &f) != 0 || f.status != RPU_PLUGIN_REJECTED) continue;
      printf("%s\n  {\"file\": ", first ? "" : ",");
      cli_json_string(stdout, f.file);
      printf(", \"status\": \"rejected\", \"error\": ");
      cli_json_string(stdout, f.error);
      printf("}");
      first = 0;
    }
    printf("%s]\n", first ? "" : "\n");
  } else {
    int w[3] = {(int)strlen("KIND"), (int)strlen("NAME"), (int)strlen("PLUGIN")};
    for (size_t i = 0; i < n; i++) {
      if (rpu_context_model_at(ctx, i, &e) != 0) continue;
      int l[3] = {(int)strlen(rpu_model_kind_name(e.kind)), (int)strlen(e.name),
                  (int)strlen(e.plugin)};
      for (int k = 0; k < 3; k++)
        if (l[k] > w[k]) w[k] = l[k];
    }
    printf("%-*s  %-*s  %-*s  %s\n", w[0], "KIND", w[1], "NAME", w[2], "PLUGIN", "FILE");
    for (size_t i = 0; i < n; i++) {
      if (rpu_context_model_at(ctx, i, &e) != 0) continue;
      printf("%-*s  %-*s  %-*s  %s\n", w[0], rpu_model_kind_name(e.kind), w[1], e.name, w[2],
             e.plugin, e.file);
    }
    if (n == 0)
      fprintf(stderr, "%s: no models registered (see --plugin-path, RPU_PLUGIN_PATH and "
                      "'rpu-plugins list --all')\n",
              cli_program());
    if (!a->all) {
      size_t rejected = 0;
      for (size_t i = 0; i < nf; i++)
        if (rpu_context_file_at(ctx, i, &f) == 0 && f.status == RPU_PLUGIN_REJECTED) rejected++;
      if (rejected > 0)
        fprintf(stderr, "%s: note: %zu plugin file%s rejected; 'rpu-plugins list --all' says why\n",
                cli_program(), rejected, rejected == 1 ? " was" : "s were");
    } else {
      int header = 0;
      for (size_t i = 0; i < nf; i++) {
        if (rpu_context_file_at(ctx, i, &f) != 0 || f.status != RPU_PLUGIN_REJECTED) continue;
        if (!header) printf("\nRejected files:\n");
        header = 1;
        /* The reason starts with the file name already. */
        size_t fl = strlen(f.file);
        const char *why = strncmp(f.error, f.file, fl) == 0 && strncmp(f.error + fl, ": ", 2) == 0
                              ? f.error + fl + 2
                              : f.error;
        printf("  %s\n      %s\n", f.file, why);
      }
    }
  }
  rpu_context_free(ctx);
  return CLI_EXIT_OK;
}

/* ----- describe ------------------------------------------------------------- */

static int cmd_describe(const args *a) {
  rpu_context *ctx = NULL;
  int rc = cli_context_new(&ctx, &a->paths, NULL, 0);
  if (rc != 0) return rc;
  rpu_model_entry e;
  if (rpu_context_find_model(ctx, a->operand, 0, &e) != 0) {
    rc = cli_rpu_error(NULL);
    rpu_context_free(ctx);
    return rc;
  }
  const rpu_model_desc *d = e.desc;
  const char *cls = e.kind == RPU_MODEL_DEVICE ? rpu_device_class_name(e.device_class) : NULL;
  if (a->json) {
    printf("{\"name\": ");
    cli_json_string(stdout, e.name);
    printf(", \"kind\": ");
    cli_json_string(stdout, rpu_model_kind_name(e.kind));
    printf(", \"class\": ");
    cli_json_string(stdout, cls);
    printf(", \"plugin\": ");
    cli_json_string(stdout, e.plugin);
    printf(", \"summary\": ");
    cli_json_string(stdout, d->summary);
    printf(",\n \"params\": [");
    for (uint32_t i = 0; i < d->n_params; i++) {
      const rpu_param_desc *p = &d->params[i]; /* normalised by the registry */
      int ranged = has_numeric_range(p);
      printf("%s\n  {\"name\": ", i ? "," : "");
      cli_json_string(stdout, p->name);
      printf(", \"type\": ");
      cli_json_string(stdout, rpu_param_type_name(p->type));
      printf(", \"default\": ");
      print_default_json(p);
      printf(", \"min\": ");
      if (ranged) cli_json_number(stdout, p->min); else printf("null");
      printf(", \"max\": ");
      if (ranged) cli_json_number(stdout, p->max); else printf("null");
      printf(", \"unit\": ");
      cli_json_string(stdout, p->unit != NULL ? p->unit : "");
      printf(", \"doc\": ");
      cli_json_string(stdout, p->doc != NULL ? p->doc : "");
      printf("}");
    }
    printf("%s]}\n", d->n_params ? "\n " : "");
  } else {
    printf("%s: %s", e.name, rpu_model_kind_name(e.kind));
    if (cls != NULL) printf(" of class %s", cls);
    printf("\n  %s\n  plugin %s, file %s\n\n", d->summary, e.plugin, e.file);
    if (d->n_params == 0) {
      printf("Parameters: none\n");
    } else {
      printf("Parameters:\n");
      print_param_table(d->params, d->n_params);
    }
  }
  rpu_context_free(ctx);
  return CLI_EXIT_OK;
}

/* The human table of a schema: a header line, then one line a parameter
 * with type, default, range, unit and doc (rpu-plugins describe, config
 * --doc). */
static void print_param_table(const rpu_param_desc *params, size_t n) {
  /* Column widths of NAME, TYPE, DEFAULT, RANGE, UNIT. */
  int w[5] = {4, 4, 7, 5, 4};
  for (size_t i = 0; i < n; i++) {
    const rpu_param_desc *p = &params[i];
    char def[256], range[512];
    param_strings(p, def, sizeof def, range, sizeof range);
    int l[5] = {(int)strlen(p->name), (int)strlen(rpu_param_type_name(p->type)),
                (int)strlen(def), (int)strlen(range),
                (int)strlen(p->unit != NULL && *p->unit ? p->unit : "-")};
    for (int k = 0; k < 5; k++)
      if (l[k] > w[k]) w[k] = l[k];
  }
  printf("  ");
  print_padded("NAME", w[0]);
  print_padded("TYPE", w[1]);
  print_padded("DEFAULT", w[2]);
  print_padded("RANGE", w[3]);
  print_padded("UNIT", w[4]);
  printf("DOC\n");
  for (size_t i = 0; i < n; i++) print_param_human(&params[i], w);
}

static void print_param_human(const rpu_param_desc *p, int w[5]) {
  char def[256], range[512];
  param_strings(p, def, sizeof def, range, sizeof range);
  printf("  ");
  print_padded(p->name, w[0]);
  print_padded(rpu_param_type_name(p->type), w[1]);
  print_padded(def, w[2]);
  print_padded(range, w[3]);
  print_padded(p->unit != NULL && *p->unit ? p->unit : "-", w[4]);
  printf("%s", p->doc != NULL ? p->doc : "");
  if (p->flags & RPU_PARAM_F_NULLABLE) printf(" [may be null]");
  if (p->flags & RPU_PARAM_F_DERIVED) printf(" [derived, read-only]");
  printf("\n");
}

/* Human text of a parameter's default and range. */
static void param_strings(const rpu_param_desc *p, char *def, size_t def_len, char *range,
                          size_t range_len) {
  char a[40], b[40];
  size_t len = 0;
  snprintf(range, range_len, "-");
  if (p->flags & RPU_PARAM_F_REQUIRED) {
    snprintf(def, def_len, "(required)");
  } else {
    switch (p->type) {
    case RPU_PARAM_BOOL: snprintf(def, def_len, "%s", p->def != 0 ? "true" : "false"); break;
    case RPU_PARAM_INT:
    case RPU_PARAM_REAL:
      cli_format_double(def, def_len, p->def);
      break;
    case RPU_PARAM_ENUM:
    case RPU_PARAM_STRING:
    case RPU_PARAM_DEVICE:
      snprintf(def, def_len, "%s", p->def_str != NULL ? p->def_str : "null");
      break;
    case RPU_PARAM_REAL_ARRAY:
      len = (size_t)snprintf(def, def_len, "[");
      for (size_t i = 0; i < p->def_array_len && p->def_array != NULL && len < def_len; i++) {
        cli_format_double(a, sizeof a, p->def_array[i]);
        len += (size_t)snprintf(def + len, def_len - len, "%s%s", i ? ", " : "", a);
      }
      if (len < def_len) snprintf(def + len, def_len - len, "]");
      break;
    case RPU_PARAM_DEVICE_LIST: snprintf(def, def_len, "[]"); break;
    default: snprintf(def, def_len, "(section defaults)"); break;
    }
  }
  if (has_numeric_range(p)) {
    cli_format_double(a, sizeof a, p->min);
    cli_format_double(b, sizeof b, p->max);
    snprintf(range, range_len, "[%s, %s]", a, b);
  } else if (p->type == RPU_PARAM_BOOL) {
    snprintf(range, range_len, "true|false");
  } else if (p->type == RPU_PARAM_ENUM && p->enum_values != NULL) {
    len = 0;
    range[0] = '\0';
    for (size_t i = 0; p->enum_values[i] != NULL && len < range_len; i++)
      len += (size_t)snprintf(range + len, range_len - len, "%s%s", i ? "|" : "",
                              p->enum_values[i]);
  }
}

static void print_default_json(const rpu_param_desc *p) {
  if (p->flags & RPU_PARAM_F_REQUIRED) {
    printf("null");
    return;
  }
  switch (p->type) {
  case RPU_PARAM_BOOL: printf("%s", p->def != 0 ? "true" : "false"); break;
  case RPU_PARAM_INT:
  case RPU_PARAM_REAL: cli_json_number(stdout, p->def); break;
  case RPU_PARAM_ENUM:
  case RPU_PARAM_STRING:
  case RPU_PARAM_DEVICE: cli_json_string(stdout, p->def_str); break;
  case RPU_PARAM_REAL_ARRAY:
    printf("[");
    for (size_t i = 0; i < p->def_array_len && p->def_array != NULL; i++) {
      if (i) printf(", ");
      cli_json_number(stdout, p->def_array[i]);
    }
    printf("]");
    break;
  case RPU_PARAM_DEVICE_LIST: printf("[]"); break;
  default: printf("null"); break; /* io_params / update_params: a whole section */
  }
}

/* min/max mean something for numbers and the elements of real arrays. */
static int has_numeric_range(const rpu_param_desc *p) {
  return p->type == RPU_PARAM_INT || p->type == RPU_PARAM_REAL ||
         p->type == RPU_PARAM_REAL_ARRAY;
}

static void print_padded(const char *s, int width) { printf("%-*s  ", width, s); }

/* ----- config ----------------------------------------------------------------- */

static int cmd_config(const args *a) {
  rpu_context *ctx = NULL;
  int rc = cli_context_new(&ctx, &a->paths, NULL, 0);
  if (rc != 0) return rc;
  rpu_config *cfg = NULL;
  char *json = NULL;
  if (rpu_config_default(&cfg, ctx, a->operand) != 0 || rpu_config_to_json(cfg, &json) != 0) {
    rc = cli_rpu_error(NULL);
  } else if (a->doc) {
    rc = print_config_doc(cfg);
  } else {
    size_t n = strlen(json);
    fputs(json, stdout);
    if (n == 0 || json[n - 1] != '\n') fputc('\n', stdout);
  }
  rpu_free(json);
  rpu_config_free(cfg);
  rpu_context_free(ctx);
  return rc;
}

/* The reference of a config type: its device and every section it takes,
 * each parameter with type, default, range, unit and doc. */
static int print_config_doc(const rpu_config *cfg) {
  static const char *const sections[] = {"forward", "backward", "update", "mapping",
                                         "pre_post.input_range", "clip", "modifier",
                                         "remap"};
  rpu_config_type type = rpu_config_get_type(cfg);
  const rpu_model_desc *dev = rpu_device_spec_model(rpu_config_device(cfg));
  printf("%s\n\n", rpu_config_type_name(type));
  if (dev != NULL) {
    printf("device: %s (default; any model of the accepted class may be named in "
           "\"type\")\n  %s\n",
           dev->name, dev->summary);
    print_param_table(dev->params, dev->n_params);
    printf("\n");
  }
  for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++) {
    /* A section belongs to the type if the default config carries it. */
    int has = 0;
    if (strcmp(sections[i], "forward") == 0) has = rpu_config_forward(cfg) != NULL;
    else if (strcmp(sections[i], "backward") == 0 || strcmp(sections[i], "update") == 0)
      has = rpu_config_update(cfg) != NULL && type != RPU_CONFIG_INFERENCE;
    else if (strcmp(sections[i], "clip") == 0 || strcmp(sections[i], "modifier") == 0 ||
             strcmp(sections[i], "remap") == 0)
      has = type == RPU_CONFIG_INFERENCE;
    else
      has = 1;
    if (!has) continue;
    const rpu_param_desc *params = NULL;
    size_t n = 0;
    if (rpu_config_section_schema(sections[i], &params, &n) != 0) return cli_rpu_error(NULL);
    printf("%s:\n", sections[i]);
    print_param_table(params, n);
    printf("\n");
  }
  return CLI_EXIT_OK;
}

/* ----- check ------------------------------------------------------------------ */

static int cmd_check(const args *a) {
  return cli_ends_with(a->operand, ".json") ? check_config_file(a) : check_plugin_file(a);
}

/* Parses the config fully and builds a 4x3 tile with it: set zero weights,
 * read them back. */
static int check_config_file(const args *a) {
  enum { OUT = 4, IN = 3 };
  rpu_context *ctx = NULL;
  int rc = cli_context_new(&ctx, &a->paths, NULL, 0);
  if (rc != 0) return rc;
  rpu_config *cfg = NULL;
  rpu_tile *tile = NULL;
  float w[OUT * IN] = {0}, back[OUT * IN];
  if (rpu_config_from_file(&cfg, ctx, a->operand) != 0) {
    rc = cli_rpu_error(NULL); /* the message starts with the file name */
  } else if (rpu_tile_new(&tile, ctx, cfg, OUT, IN, 1) != 0 ||
             rpu_tile_set_weights(tile, w) != 0 || rpu_tile_get_weights(tile, back) != 0) {
    rc = cli_rpu_error(a->operand);
  } else {
    for (int i = 0; i < OUT * IN && rc == 0; i++)
      if (!isfinite(back[i]))
        rc = cli_user_error("%s: the tile returned a non-finite weight at (%d, %d)",
                            a->operand, i / IN, i % IN);
    if (rc == 0) {
      const rpu_model_desc *dev = rpu_device_spec_model(rpu_config_device(cfg));
      printf("ok: %s (%s, device %s)\n", a->operand,
             rpu_config_type_name(rpu_config_get_type(cfg)), dev != NULL ? dev->name : "?");
    }
  }
  rpu_tile_free(tile);
  rpu_config_free(cfg);
  rpu_context_free(ctx);
  return rc;
}

/* Loads FILE before everything else (so nested defaults still resolve
 * through the normal search path), then self-tests each of its models. */
static int check_plugin_file(const args *a) {
  rpu_context *ctx = NULL;
  const char *files[1] = {a->operand};
  int rc = cli_context_new(&ctx, &a->paths, files, 1);
  if (rc != 0) return rc;
  rpu_plugin_file f;
  if (rpu_context_file_at(ctx, 0, &f) != 0) {
    rc = cli_rpu_error(a->operand);
  } else if (f.status == RPU_PLUGIN_REJECTED) {
    rc = cli_user_error("%s", f.error); /* names the file and the reason */
  } else {
    size_t n = rpu_context_model_count(ctx), failed = 0;
    rpu_model_entry e;
    for (size_t i = 0; i < n; i++) {
      if (rpu_context_model_at(ctx, i, &e) != 0 || strcmp(e.file, f.file) != 0) continue;
      if (rpu_context_check_model(ctx, e.name) != 0) {
        failed++;
        fprintf(stderr, "%s: FAIL: %s\n", cli_program(), rpu_error_last()->message);
      } else {
        printf("ok: %s %s\n", rpu_model_kind_name(e.kind), e.name);
      }
    }
    if (failed > 0)
      rc = cli_user_error("%s: %zu of %u models failed the check", f.file, failed,
                          (unsigned)f.n_models);
    else
      printf("ok: %s (plugin %s, %u model%s)\n", f.file, f.plugin, (unsigned)f.n_models,
             f.n_models == 1 ? "" : "s");
  }
  rpu_context_free(ctx);
  return rc;
}
