/* rpu-train: trains and evaluates the network of an experiment JSON
 * (DESIGN.md §8, docs/experiments.md).
 *
 * Output directory (--out, default runs/NAME): metrics.json, report.svg and
 * checkpoint.rpu, all rewritten after every epoch, so an interrupted run
 * always leaves a consistent set.  Ctrl-C stops at the next batch boundary,
 * saves the checkpoint and exits with 130; --resume continues from it bit
 * for bit. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools/cli.h"
#include "tools/progress.h"
#include "tools/train_report.h"

#define EXIT_INTERRUPTED 130

static const char usage_text[] =
    "Usage: rpu-train EXPERIMENT.json [options]\n"
    "       rpu-train --resume --out DIR [options]\n"
    "Trains and evaluates the network an experiment describes (docs/experiments.md).\n"
    "\n"
    "  --out DIR          output directory (default runs/NAME): metrics.json,\n"
    "                     report.svg, checkpoint.rpu, rewritten after every epoch\n"
    "  --epochs N         train N epochs in total (overrides training.epochs)\n"
    "  --seed S           overrides the experiment's seed\n"
    "  --threads T        threads for BLAS and the engine alike (default: all cores)\n"
    "  --resume           continue from DIR/checkpoint.rpu (with EXPERIMENT.json it\n"
    "                     must be the same experiment; only --epochs may change)\n"
    "  --profile          print forward/backward/update seconds per layer at the end\n"
    "  --json             print metrics.json on stdout at the end\n"
    "  --quiet            no progress output (errors still go to stderr)\n"
    "  --plugin-path DIR  also load plugins from DIR (repeatable)\n"
    "  --help, --version\n"
    "\n"
    "Progress goes to stderr: a bar on a terminal, plain lines otherwise.\n"
    "Exit status: 0 ok, 1 error in a file, config or plugin, 2 bad usage,\n"
    "130 interrupted by Ctrl-C (the checkpoint is saved; resume with --resume).\n";

typedef struct args {
  const char *experiment;
  const char *out;
  long epochs; /* 0: the experiment's */
  int has_seed;
  uint64_t seed;
  long threads; /* 0: all cores */
  int resume, profile, json, quiet;
  cli_plugin_paths paths;
} args;

static volatile sig_atomic_t interrupted;

/* The first Ctrl-C asks for a stop at the next batch boundary; the handler
 * is installed with SA_RESETHAND, so a second one ends the process at once
 * (without a new checkpoint).  write(2) is async-signal-safe. */
static void on_sigint(int sig) {
  (void)sig;
  static const char msg[] =
      "\nrpu-train: stopping after this batch to save a checkpoint (Ctrl-C again aborts)\n";
  interrupted = 1;
  ssize_t ignored = write(2, msg, sizeof msg - 1);
  (void)ignored;
}

static int parse_args(int argc, char **argv, args *a);
static int run(const args *a);

int main(int argc, char **argv) {
  cli_set_program("rpu-train");
  args a;
  memset(&a, 0, sizeof a);
  int rc = parse_args(argc, argv, &a);
  if (rc < 0)
    rc = CLI_EXIT_OK; /* --help / --version done */
  else if (rc == 0)
    rc = run(&a);
  cli_plugin_paths_free(&a.paths);
  if (fflush(stdout) != 0 && rc == CLI_EXIT_OK) rc = cli_user_error("cannot write the output");
  return rc;
}

/* ----- command line -------------------------------------------------------- */

static int parse_args(int argc, char **argv, args *a) {
  enum { O_OUT = 256, O_EPOCHS, O_SEED, O_THREADS, O_RESUME, O_PROFILE, O_JSON, O_QUIET,
         O_PATH, O_HELP, O_VERSION };
  static const struct option longopts[] = {
      {"out", required_argument, NULL, O_OUT},
      {"epochs", required_argument, NULL, O_EPOCHS},
      {"seed", required_argument, NULL, O_SEED},
      {"threads", required_argument, NULL, O_THREADS},
      {"resume", no_argument, NULL, O_RESUME},
      {"profile", no_argument, NULL, O_PROFILE},
      {"json", no_argument, NULL, O_JSON},
      {"quiet", no_argument, NULL, O_QUIET},
      {"plugin-path", required_argument, NULL, O_PATH},
      {"help", no_argument, NULL, O_HELP},
      {"version", no_argument, NULL, O_VERSION},
      {NULL, 0, NULL, 0}};
  opterr = 0;
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
    switch (c) {
      case O_OUT:
        if (optarg[0] == '\0') return cli_usage_error("--out needs a directory");
        a->out = optarg;
        break;
      case O_EPOCHS:
        if (cli_parse_long(optarg, 1, 1000000, &a->epochs) != 0)
          return cli_usage_error("--epochs '%s': expected an integer in [1, 1000000]", optarg);
        break;
      case O_SEED:
        if (cli_parse_u64(optarg, &a->seed) != 0 || a->seed > (uint64_t)INT64_MAX)
          return cli_usage_error("--seed '%s': expected an integer in [0, 2^63-1]", optarg);
        a->has_seed = 1;
        break;
      case O_THREADS:
        if (cli_parse_long(optarg, 1, 4096, &a->threads) != 0)
          return cli_usage_error("--threads '%s': expected an integer in [1, 4096]", optarg);
        break;
      case O_RESUME: a->resume = 1; break;
      case O_PROFILE: a->profile = 1; break;
      case O_JSON: a->json = 1; break;
      case O_QUIET: a->quiet = 1; break;
      case O_PATH:
        if (optarg[0] == '\0') return cli_usage_error("--plugin-path needs a directory");
        if (cli_plugin_paths_add(&a->paths, optarg) != 0) return cli_user_error("out of memory");
        break;
      case O_HELP: fputs(usage_text, stdout); return -1;
      case O_VERSION: cli_print_version(); return -1;
      case ':': return cli_usage_error("%s needs a value", argv[optind - 1]);
      default: return cli_usage_error("unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind < argc) a->experiment = argv[optind++];
  if (optind < argc) return cli_usage_error("unexpected argument '%s'", argv[optind]);
  if (a->experiment == NULL && !a->resume)
    return cli_usage_error("an EXPERIMENT.json is required (or --resume --out DIR)");
  if (a->experiment == NULL && a->out == NULL)
    return cli_usage_error("--resume without an experiment needs --out DIR");
  if (a->experiment == NULL && a->has_seed)
    return cli_usage_error("--seed cannot change a resumed run; give the experiment instead");
  return 0;
}

/* ----- the run ------------------------------------------------------------- */

typedef struct run_state {
  const args *a;
  progress pg;
  rpu_trainer *t;
  char dir[4096];
  char ckpt[4200], metrics[4200], svg[4200];
  train_report_inference *inf;
  int n_inf;
  char inf_why[512];
} run_state;

static int on_batch(const rpu_train_progress *p, void *user) {
  run_state *s = user;
  if (!s->a->quiet) progress_update(&s->pg, p);
  return interrupted != 0;
}

/* mkdir -p for the output directory. */
static int make_dirs(const char *path) {
  char buf[4096];
  if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
    errno = ENAMETOOLONG;
    return -1;
  }
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(buf, 0777) != 0 && errno != EEXIST) return -1;
    *p = '/';
  }
  if (mkdir(buf, 0777) != 0 && errno != EEXIST) return -1;
  struct stat st;
  if (stat(buf, &st) != 0) return -1;
  if (!S_ISDIR(st.st_mode)) {
    errno = ENOTDIR;
    return -1;
  }
  return 0;
}

static int write_outputs(run_state *s) {
  const rpu_experiment *e = rpu_trainer_experiment(s->t);
  const rpu_epoch_metrics *h = NULL;
  int n = 0;
  rpu_trainer_history(s->t, &h, &n);
  char err[1024];
  if (train_report_metrics_json(s->metrics, rpu_experiment_name(e), rpu_experiment_seed(e),
                                rpu_get_num_threads(), h, n, s->inf, s->n_inf, err,
                                sizeof err) != 0)
    return cli_user_error("%s", err);
  char title[512];
  snprintf(title, sizeof title, "rpu-train: %s", rpu_experiment_name(e));
  if (train_report_svg(s->svg, title, h, n, s->inf, s->n_inf,
                       s->inf_why[0] ? s->inf_why : NULL, err, sizeof err) != 0)
    return cli_user_error("%s", err);
  return CLI_EXIT_OK;
}

static int save_checkpoint(run_state *s) {
  if (rpu_trainer_save(s->t, s->ckpt) != 0) return cli_rpu_error(NULL);
  return CLI_EXIT_OK;
}

static void print_profile(run_state *s) {
  int n = rpu_trainer_layer_count(s->t);
  double tf = 0, tb = 0, tu = 0;
  const rpu_epoch_metrics *h = NULL;
  int ne = 0;
  rpu_trainer_history(s->t, &h, &ne);
  fprintf(stderr, "\nprofile (seconds, training passes since this process started):\n");
  fprintf(stderr, "  %-44s %10s %10s %10s\n", "layer", "forward", "backward", "update");
  for (int i = 0; i < n; i++) {
    rpu_layer_profile p;
    if (rpu_trainer_layer_profile(s->t, i, &p) != 0) continue;
    tf += p.forward;
    tb += p.backward;
    tu += p.update;
    if (p.forward + p.backward + p.update < 5e-4) continue; /* cheap element-wise layers */
    fprintf(stderr, "  %-44s %10.3f %10.3f %10.3f\n", p.name, p.forward, p.backward, p.update);
  }
  fprintf(stderr, "  %-44s %10.3f %10.3f %10.3f\n", "all layers", tf, tb, tu);
  double train = 0;
  for (int i = 0; i < ne; i++) train += h[i].seconds;
  if (ne > 0)
    fprintf(stderr, "  %d epoch%s: %.2f s/epoch of training (data loading and test excluded)\n",
            ne, ne == 1 ? "" : "s", train / ne);
}

static int print_json(run_state *s) {
  FILE *f = fopen(s->metrics, "r");
  if (f == NULL) return cli_user_error("%s: %s", s->metrics, strerror(errno));
  char buf[8192];
  size_t k;
  while ((k = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, k, stdout);
  fclose(f);
  return CLI_EXIT_OK;
}

static int evaluate_inference(run_state *s) {
  const rpu_experiment *e = rpu_trainer_experiment(s->t);
  int n = rpu_experiment_inference_count(e);
  if (n == 0) return CLI_EXIT_OK;
  s->inf = calloc((size_t)n, sizeof *s->inf);
  if (s->inf == NULL) return cli_user_error("out of memory");
  for (int i = 0; i < n; i++) {
    double tt = rpu_experiment_inference_time(e, i), mean = 0, std = 0;
    int rc = rpu_trainer_inference(s->t, tt, rpu_experiment_inference_repeats(e), &mean, &std);
    if (rc == RPU_EUNSUPPORTED) {
      snprintf(s->inf_why, sizeof s->inf_why, "%s", rpu_error_last()->message);
      if (!s->a->quiet) fprintf(stderr, "inference not evaluated: %s\n", s->inf_why);
      s->n_inf = 0;
      return CLI_EXIT_OK;
    }
    if (rc != 0) return cli_rpu_error("inference");
    s->inf[s->n_inf++] = (train_report_inference){tt, mean, std};
    if (!s->a->quiet)
      fprintf(stderr, "inference t = %g s: accuracy %.2f %% +- %.2f\n", tt, 100 * mean,
              100 * std);
  }
  return CLI_EXIT_OK;
}

static int open_trainer(run_state *s, rpu_context *ctx) {
  const args *a = s->a;
  rpu_experiment *e = NULL;
  if (a->experiment != NULL) {
    if (rpu_experiment_from_file(&e, ctx, a->experiment) != 0) return cli_rpu_error(NULL);
    if (a->epochs > 0) rpu_experiment_set_epochs(e, (int)a->epochs);
    if (a->has_seed) rpu_experiment_set_seed(e, a->seed);
    if (a->out != NULL)
      snprintf(s->dir, sizeof s->dir, "%s", a->out);
    else
      snprintf(s->dir, sizeof s->dir, "runs/%s", rpu_experiment_name(e));
  } else {
    snprintf(s->dir, sizeof s->dir, "%s", a->out);
  }
  snprintf(s->ckpt, sizeof s->ckpt, "%s/checkpoint.rpu", s->dir);
  snprintf(s->metrics, sizeof s->metrics, "%s/metrics.json", s->dir);
  snprintf(s->svg, sizeof s->svg, "%s/report.svg", s->dir);
  int rc = 0;
  if (e != NULL) {
    rc = rpu_trainer_new(&s->t, ctx, e);
    if (rc == 0 && a->resume) rc = rpu_trainer_load(s->t, s->ckpt);
  } else {
    rc = rpu_trainer_load_new(&s->t, ctx, s->ckpt, (int)a->epochs);
  }
  rpu_experiment_free(e);
  if (rc != 0) return cli_rpu_error(NULL);
  if (make_dirs(s->dir) != 0) return cli_user_error("%s: cannot create: %s", s->dir, strerror(errno));
  return CLI_EXIT_OK;
}

static int run(const args *a) {
  if (a->threads > 0) rpu_set_num_threads((int)a->threads);
  rpu_context *ctx = NULL;
  int rc = cli_context_new(&ctx, &a->paths, NULL, 0);
  if (rc != CLI_EXIT_OK) return rc;
  run_state s;
  memset(&s, 0, sizeof s);
  s.a = a;
  rc = open_trainer(&s, ctx);
  const rpu_experiment *e = s.t ? rpu_trainer_experiment(s.t) : NULL;
  if (rc == CLI_EXIT_OK) {
    int n_train = 0, n_test = 0;
    rpu_trainer_sizes(s.t, &n_train, &n_test);
    progress_init(&s.pg, stderr, rpu_experiment_batch_size(e), -1);
    if (!a->quiet)
      fprintf(stderr,
              "rpu-train: %s: %d training / %d test images, %d epochs, seed %llu, %d thread%s, "
              "output %s/\n",
              rpu_experiment_name(e), n_train, n_test, rpu_experiment_epochs(e),
              (unsigned long long)rpu_experiment_seed(e), rpu_get_num_threads(),
              rpu_get_num_threads() == 1 ? "" : "s", s.dir);
    if (a->resume && !a->quiet)
      fprintf(stderr, "resumed from %s after %d finished epoch%s\n", s.ckpt,
              rpu_trainer_epochs_done(s.t), rpu_trainer_epochs_done(s.t) == 1 ? "" : "s");
  }
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigint;
  sa.sa_flags = SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old);
  while (rc == CLI_EXIT_OK && rpu_trainer_epochs_done(s.t) < rpu_experiment_epochs(e)) {
    rpu_epoch_metrics m;
    int r = rpu_trainer_run_epoch(s.t, on_batch, &s, &m);
    if (r == RPU_ECANCELED) {
      if (!a->quiet) progress_break(&s.pg);
      rc = save_checkpoint(&s);
      if (rc == CLI_EXIT_OK) rc = write_outputs(&s);
      if (rc == CLI_EXIT_OK) {
        fprintf(stderr, "interrupted: checkpoint saved to %s\nresume with: rpu-train %s%s--out %s --resume\n",
                s.ckpt, a->experiment ? a->experiment : "", a->experiment ? " " : "", s.dir);
        rc = EXIT_INTERRUPTED;
      }
      break;
    }
    if (r != 0) {
      if (!a->quiet) progress_break(&s.pg);
      rc = cli_rpu_error(NULL);
      break;
    }
    if (!a->quiet) progress_epoch_done(&s.pg, &m, rpu_experiment_epochs(e));
    rc = save_checkpoint(&s);
    if (rc == CLI_EXIT_OK) rc = write_outputs(&s);
    if (interrupted && rc == CLI_EXIT_OK && rpu_trainer_epochs_done(s.t) < rpu_experiment_epochs(e)) {
      fprintf(stderr, "interrupted: checkpoint saved to %s\n", s.ckpt);
      rc = EXIT_INTERRUPTED;
    }
  }
  sigaction(SIGINT, &old, NULL);
  if (rc == CLI_EXIT_OK) rc = evaluate_inference(&s);
  if (rc == CLI_EXIT_OK) rc = write_outputs(&s);
  if (rc == CLI_EXIT_OK) {
    const rpu_epoch_metrics *h = NULL;
    int n = 0;
    rpu_trainer_history(s.t, &h, &n);
    if (!a->quiet && n > 0)
      fprintf(stderr, "done: test accuracy %.2f %% after %d epoch%s; wrote %s, %s, %s\n",
              100 * h[n - 1].test_accuracy, n, n == 1 ? "" : "s", s.metrics, s.svg, s.ckpt);
    if (a->profile) print_profile(&s);
    if (a->json) rc = print_json(&s);
  } else if (rc == EXIT_INTERRUPTED && a->profile) {
    print_profile(&s);
  }
  free(s.inf);
  rpu_trainer_free(s.t);
  rpu_context_free(ctx);
  return rc;
}
