/* Rows and helpers the listing commands share (rows.c). */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "cli/cli.h"

/* The --filter flags as docker's filters.Args encodes them: {"key":{"value":true}}. */
json_t *cli_filters(struct cli *cli);

/* sortorder.NaturalLess, docker's sort of names and port lines: digit runs compare as numbers
 * and sort before other characters. <0, 0 or >0 as strcmp. */
int cli_natural_cmp(const char *a, const char *b);

/* Go's strconv.Quote; docker's Ellipsis (at most max characters, "…" last when cut); v joined
 * with sep; "k=v,k2=v2" sorted by key. New strings. */
char *cli_go_quote(const char *s);
char *cli_ellipsis(const char *s, int max);
char *cli_join(char **v, const char *sep);
char *cli_labels_text(json_t *labels);

/* A container of GET /containers/json as docker ps renders it (keys as its JSON rows have);
 * virtual_size adds "(virtual N)" to Size, as ps does and system df -v does not. */
json_t *cli_ctr_row(json_t *c, bool trunc, bool virtual_size);
/* A volume as volume ls renders it, with the usage data system df adds. */
json_t *cli_volume_row(json_t *v);

/* docker's GetTimestamp for --since/--until: a duration is that long before now (whole seconds),
 * an RFC 3339 time or a date becomes "sec.nsec", a unix time passes as it is; anything else is
 * an error (NULL). New string. */
char *cli_timestamp_arg(const char *v, struct berr **err);
