/* The container options of run and create (docker's flag set, word for word) and their
 * translation into the body of POST /containers/create, with docker's validation and
 * messages. */
#pragma once

#include <jansson.h>

#include "cli/cli.h"

/* The flag tables: run adds --detach, --detach-keys and --sig-proxy to create's. */
extern const struct cli_flag cli_run_flags[];
extern const struct cli_flag cli_create_flags[];

/* Errors whose errnum is this are a flag's bad value ("invalid argument "x" for "-m, --memory"
 * flag: ..."): docker prints them with the Usage line. Others print as "berth: MSG". */
#define CLI_EFLAGVALUE EDOM

/* The create request for the running command (run or create) and its positional arguments
 * (IMAGE [COMMAND [ARG...]]): a new object with the Config fields, HostConfig and
 * NetworkingConfig. detach: run -d (nothing attached). Reads --env-file, --label-file and
 * seccomp profiles named by --security-opt. */
json_t *cli_container_request(struct cli *cli, int argc, char **argv, bool detach,
                              struct berr **err);

/* Prints err as docker prints a failed run/create parse, and returns 125: a flag value error
 * with the Usage line, others as "berth: MSG" with the --help hint. Frees err. */
int cli_run_parse_failed(struct cli *cli, struct berr *err);
