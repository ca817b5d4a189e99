/* Output formatting as the docker CLI does it: Go text/template (the subset --format uses),
 * Go's text/tabwriter column alignment, docker's "table"/"json"/template modes on top, and
 * JSON encoded as Go's encoding/json writes it. Data is always jansson values. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "common/err.h"

/* ---- templates ----
 * Actions: {{.Field}}, {{.A.B}}, {{.}}, {{$}}, {{$v.Field}}, literals ("s", `raw`, 12, 1.5,
 * true, false), pipelines (a | f x), parentheses, {{$v := pipeline}}, {{if}}/{{else if}}/
 * {{else}}/{{end}}, {{range [$i, $e :=] pipeline}}/{{else}}/{{end}}, {{with}}, comments
 * ({{/ * text * /}} without the inner spaces), and trim markers {{- and -}}. Functions: json,
 * upper, lower, title, split, join, pad, truncate (docker's), and, or, not, eq, ne, lt, le, gt, ge,
 * index, len, print, printf, println (Go's). Objects print as Go maps (map[k:v]), arrays as [a b],
 * null as <no value>. */
struct cli_template;

/* Errors read as Go's: "template: :1: function \"foo\" not defined". */
struct cli_template *cli_template_parse(const char *text, struct berr **err);
void cli_template_free(struct cli_template *t);
void cli_template_freep(struct cli_template **t);

enum {
    /* A field missing from an object prints "<no value>" (docker inspect, whose data is a
     * decoded map) instead of failing with "can't evaluate field" (list commands, whose rows
     * are Go structs in docker). */
    CLI_TMPL_MISSING_OK = 1 << 0,
};

/* Execute with data (borrowed) as "." and write the output to out. On error, output written so
 * far stays; the message reads "template: :1:2: executing \"\" at <.Foo>: ...". */
int cli_template_exec(const struct cli_template *t, json_t *data, unsigned flags, FILE *out,
                      struct berr **err);
/* The same into a new string. */
char *cli_template_render(const struct cli_template *t, json_t *data, unsigned flags,
                          struct berr **err);

/* ---- Go's text/tabwriter (no flags): cells end at '\t'; the text after a line's last tab is
 * not part of a column. A column is as wide as its widest cell plus padding, at least
 * minwidth, and spans the consecutive lines that have a cell in it. Widths count UTF-8
 * characters. docker's tables use (10, 1, 3), `docker version` (20, 1, 1). Returns a new
 * string. */
char *cli_tabwrite(const char *text, int minwidth, int tabwidth, int padding);

/* ---- docker's --format ----
 * format "" or NULL or "table": default_format (a full format, e.g. "table {{.ID}}\t{{.Size}}");
 * "json": {{json .}} per row; "table TEMPLATE": aligned columns under a header row;
 * anything else: TEMPLATE per row. A literal \t or \n (backslash, letter) in the format
 * becomes a tab or newline. header (borrowed, may be NULL) maps field names to column titles,
 * {"ID": "IMAGE ID", "Repository": "REPOSITORY"}: the header row is the template executed on
 * it, with json/upper/lower/title/split/join/pad/truncate passing the title through, and
 * fields it lacks printing "<no value>", as docker. Output is kept until cli_format_write, so a
 * failing row leaves nothing printed. Errors read "template parsing error: template: ...". */
struct cli_format;

struct cli_format *cli_format_new(const char *format, const char *default_format, json_t *header,
                                  unsigned flags, struct berr **err);
void cli_format_free(struct cli_format *f);
void cli_format_freep(struct cli_format **f);
bool cli_format_is_table(const struct cli_format *f);
/* Render one row (borrowed); adds the newline docker puts after each row. */
int cli_format_add(struct cli_format *f, json_t *row, struct berr **err);
/* Print everything: the header row and aligned rows for a table, else the rows as they are. */
void cli_format_write(struct cli_format *f, FILE *out);

/* ---- Go's encoding/json ----
 * indent NULL: compact (json.Marshal); else one level of indent per depth, "key": value
 * (json.MarshalIndent(v, "", indent)). escape_html: <, >, & as \u003c etc. (Marshal's default;
 * the template "json" function turns it off). Keys keep the object's order: build objects in
 * the order docker prints (alphabetical for docker's list rows, struct order for inspect).
 * No trailing newline. */
char *cli_json_encode(json_t *v, const char *indent, bool escape_html);
