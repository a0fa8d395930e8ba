/* Shared helpers of the command-line tools (DESIGN.md §8): exit codes,
 * error messages, number parsing, --plugin-path handling and JSON output.
 * Tools see only include/rpu and libc; nothing here touches core internals.
 *
 * Every tool: `--help`, `--version`, exit 0 on success, 1 on a user error
 * (message on stderr naming the file, JSON path or plugin), 2 on bad usage.
 */
#ifndef RPU_TOOLS_CLI_H
#define RPU_TOOLS_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rpu/rpu.h"

#define CLI_EXIT_OK 0
#define CLI_EXIT_USER 1  /* bad input: file, JSON, plugin */
#define CLI_EXIT_USAGE 2 /* bad command line */

/* Sets the program name used in messages ("rpu-plugins"); call first. */
void cli_set_program(const char *name);
const char *cli_program(void);

/* Prints "PROG: MESSAGE" and "Try 'PROG --help'." on stderr; returns
 * CLI_EXIT_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints "PROG: MESSAGE" on stderr; returns CLI_EXIT_USER. */
int cli_user_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints "PROG: WHAT: <last rpu error message>" (or without "WHAT: " if
 * what is NULL) on stderr; returns CLI_EXIT_USER. */
int cli_rpu_error(const char *what);

/* Prints "PROG (rpu) VERSION" and the linked library's version and plugin
 * ABI on stdout; returns CLI_EXIT_OK. */
int cli_print_version(void);

/* Strict decimal parsing of a whole argument: 0 on success, -1 if s is not
 * a number, has trailing characters or lies outside [lo, hi]. */
int cli_parse_long(const char *s, long lo, long hi, long *out);
int cli_parse_u64(const char *s, uint64_t *out);
/* Finite doubles only. */
int cli_parse_double(const char *s, double *out);

/* Directories given with --plugin-path (repeatable), searched before
 * RPU_PLUGIN_PATH and the system directory.  Zero-initialise. */
typedef struct cli_plugin_paths {
  const char **dirs; /* borrowed strings (argv) */
  size_t n;
} cli_plugin_paths;

/* Appends dir; -1 on out of memory. */
int cli_plugin_paths_add(cli_plugin_paths *p, const char *dir);
void cli_plugin_paths_free(cli_plugin_paths *p);

/* Creates a context: `files` first, then the --plugin-path directories,
 * then the normal search path (RPU_PLUGIN_PATH, system directory).  paths
 * and files may be NULL / empty.  Prints the error and returns
 * CLI_EXIT_USER on failure, CLI_EXIT_OK on success. */
int cli_context_new(rpu_context **out, const cli_plugin_paths *paths,
                    const char *const *files, size_t n_files);

/* JSON output: a string with every character that needs it escaped (NULL
 * prints null; bytes that are not valid UTF-8 become U+FFFD, so the output
 * is always valid JSON); a number in the shortest form that reads back to the same
 * double (NaN and infinities print null, which JSON has no number for). */
void cli_json_string(FILE *f, const char *s);
void cli_json_number(FILE *f, double v);

/* The shortest of %.15g, %.16g, %.17g that parses back to v exactly;
 * "inf", "-inf" or "nan" for the non-finite values. */
void cli_format_double(char *buf, size_t len, double v);

/* 1 if s ends with suffix (case-sensitive). */
int cli_ends_with(const char *s, const char *suffix);

#endif
