/* berth-runc's command line: runc-compatible global flags, a Go-style flag parser (so -flag and
 * --flag both work, as with runc), and one function per subcommand. */
#pragma once

#include <stdbool.h>

#include "common/err.h"

struct cli_globals {
    const char *root;
    bool debug;
};

enum cli_flag_type { FLAG_BOOL, FLAG_STRING, FLAG_STRINGS, FLAG_INT };

struct cli_flag {
    const char *name;
    char short_name; /* 0 if none */
    enum cli_flag_type type;
    void *dest; /* bool*, const char**, char***, int* */
};

/* Parse flags from argv[1..]; positional arguments are returned in *rest (a borrowed tail of
 * argv), stopping at the first non-flag or "--" as Go's flag package does. */
int cli_parse(int argc, char **argv, const struct cli_flag *flags, int *nrest, char ***rest,
              struct berr **err);
/* Report err as the command's failure (stderr and --log) and return the exit code 1. */
int cli_fail(struct berr *err);
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "TERM", "SIGTERM", "15", "RTMIN+2" -> signal number, or -1. */
int cli_parse_signal(const char *s);
/* Print a JSON value followed by a newline. */
void cli_print_json(void *json, bool pretty);

typedef int (*cli_cmd_fn)(struct cli_globals *g, int argc, char **argv);

int cmd_create(struct cli_globals *g, int argc, char **argv);
int cmd_run(struct cli_globals *g, int argc, char **argv);
int cmd_start(struct cli_globals *g, int argc, char **argv);
int cmd_state(struct cli_globals *g, int argc, char **argv);
int cmd_kill(struct cli_globals *g, int argc, char **argv);
int cmd_delete(struct cli_globals *g, int argc, char **argv);
int cmd_list(struct cli_globals *g, int argc, char **argv);
int cmd_ps(struct cli_globals *g, int argc, char **argv);
int cmd_exec(struct cli_globals *g, int argc, char **argv);
int cmd_pause(struct cli_globals *g, int argc, char **argv);
int cmd_resume(struct cli_globals *g, int argc, char **argv);
int cmd_update(struct cli_globals *g, int argc, char **argv);
int cmd_events(struct cli_globals *g, int argc, char **argv);
int cmd_features(struct cli_globals *g, int argc, char **argv);
int cmd_spec(struct cli_globals *g, int argc, char **argv);
int cmd_checkpoint(struct cli_globals *g, int argc, char **argv);
