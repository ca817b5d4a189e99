/* What the container commands share: the escaped API path of a container, the pull that run and
 * create do for a missing image, waiting for an exit on a raw connection, and docker's exit
 * status for a failed start. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "cli/cli.h"
#include "cli/client.h"

/* "/containers/<escaped ref><suffix>" (suffix may hold a query; may be ""). New string. */
char *cli_ctr_path(const char *ref, const char *suffix);

/* POST /images/create for image (pulling it through the daemon), progress on cli->err unless
 * quiet; platform may be "" or NULL. */
int cli_pull_image(struct cli *cli, struct cli_api *api, const char *image, const char *platform,
                   bool quiet, struct berr **err);

/* A registered wait on its own connection (condition: "next-exit", "removed", "not-running"):
 * returns once the daemon has it, so no exit after this call is missed. */
int cli_wait_open(struct cli_api *api, const char *id, const char *condition, struct cli_conn **out,
                  struct berr **err);
/* Its answer: the exit status, or 125 (with the message on cli->err, as docker logs it) when
 * the daemon reports an error instead; -1 with err when the connection failed. */
int cli_wait_status(struct cli *cli, struct cli_conn *wait, struct berr **err);

/* docker's exit status for a failed start: 127 (command not found), 126 (not executable),
 * else 125. */
int cli_start_status(const char *msg);

/* Asks "Are you sure you want to continue? [y/N] " after warning; true for y or Y. */
bool cli_confirm(struct cli *cli, const char *warning);

/* The container ID, shortened to docker's 12 characters unless no_trunc (into buf, 65 bytes). */
const char *cli_short_id(const char *id, bool no_trunc, char *buf);
