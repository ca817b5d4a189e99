/* run_opts.c's split: the option syntaxes with a grammar of their own live in
 * run_opts_parse.c; both share the error helper and the k=v reader declared here. */
#pragma once

#include <jansson.h>

#include "cli/cli.h"

/* A flag's bad value, worded as pflag does: "invalid argument "VALUE" for "-m, --memory" flag:
 * WHY", with errnum CLI_EFLAGVALUE. Returns -1. */
int cli_flag_value_error(struct cli *cli, const char *name, const char *value, struct berr **err,
                         const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* --cpus as docker reads it (Go's big.Rat.SetString: "1.5", "2", "3/4", "15e-1"), times 1e9:
 * NanoCpus. Errors are the flag's, with docker's words. */
int cli_parse_nano_cpus(struct cli *cli, const char *v, int64_t *out, struct berr **err);
/* "k=v" items as an object ("k" alone: an empty value). */
json_t *cli_kv_object(char *const *v);

/* -v (Binds and anonymous Volumes), --mount, --device, --ulimit, and -p/--expose. */
int cli_opts_volumes(struct cli *cli, json_t *config, json_t *hc, struct berr **err);
int cli_opts_mounts(struct cli *cli, json_t *hc, struct berr **err);
int cli_opts_devices(struct cli *cli, json_t *hc, struct berr **err);
int cli_opts_ulimits(struct cli *cli, json_t *hc, struct berr **err);
int cli_opts_ports(struct cli *cli, json_t *config, json_t *hc, struct berr **err);
