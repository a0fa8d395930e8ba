/* Internal: reading and writing JSON with json-c (DESIGN.md §5).
 *
 * Input is parsed strictly: json-c's STRICT tokener plus a lint pass over
 * the text for what json-c still lets through (single quotes, NaN and
 * Infinity literals, numbers such as "1." or "+1", duplicate keys).  The
 * nesting depth is limited, so hostile input gives a clean error instead of
 * a deep recursion.  Every message names the text ("file.json:3:14: ...").
 * The top level must be an object.
 *
 * json-c stays inside core/util/json.c, core/plugin/params.c, core/config
 * and core/nn's experiment reader/writer and training checkpoints: plugins
 * and tools never see it. */
#ifndef RPU_CORE_UTIL_JSON_H
#define RPU_CORE_UTIL_JSON_H

#include <stddef.h>

struct json_object;

/* Deepest nesting of arrays and objects accepted on input. */
#define RPU__JSON_MAX_DEPTH 64

/* Largest file rpu__json_read_file accepts (configs are small). */
#define RPU__JSON_MAX_FILE_SIZE ((size_t)256 << 20)

/* Parses `len` bytes of `text` (need not be NUL-terminated) into *out (a
 * new reference the caller releases with json_object_put).  `name` names
 * the text in messages (a file name, "<string>").  Errors: RPU_EPARSE
 * ("name:line:col: malformed JSON: ...", "name: empty", "name:1:65: too
 * deeply nested ..."), RPU_ETYPE if the top level is not an object,
 * RPU_ENOMEM.  *out is NULL on error. */
int rpu__json_parse(struct json_object **out, const char *text, size_t len,
                    const char *name);

/* Reads and parses a file; RPU_EIO naming the file and the system error if
 * it cannot be read, otherwise as rpu__json_parse with the path as name. */
int rpu__json_read_file(struct json_object **out, const char *path);

/* "null", "boolean", "number", "string", "array" or "object". */
const char *rpu__json_type_name(const struct json_object *o);

/* Shortest of %.15g, %.16g, %.17g that reads back as exactly d.  buf must
 * hold at least 32 bytes.  Non-finite values print as "nan", "inf",
 * "-inf" (for messages only; they are never written as JSON values). */
const char *rpu__json_format_real(char *buf, size_t len, double d);

/* A JSON number for d that reads back exactly and reads nicely ("0.1",
 * "1.0", "3.4e+38").  d must be finite.  NULL on out of memory. */
struct json_object *rpu__json_new_real(double d);

/* Pretty-printed text of o, malloc'ed (free with free / rpu_free); NULL
 * and RPU_ENOMEM recorded on out of memory. */
char *rpu__json_to_text(struct json_object *o);

#endif
