/* Private to format.c and template_*.c: the parsed template tree that template_parse.c builds
 * and template_exec.c walks, and the Go-style printing helpers format.c lends the evaluator. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cli/format.h"
#include "common/err.h"

/* ---- Go-style printing (format.c) ---- */

/* An open_memstream that aborts on failure, and its close handing back the buffer (the
 * caller's); *buf is NULL after. */
FILE *fmt_memstream(char **buf, size_t *len);
char *fmt_memstream_done(FILE *f, char **buf);
void fmt_put_spaces(FILE *f, long n);
/* json false: fmt's %v; json true: encoding/json. */
void fmt_put_float(FILE *f, double x, bool json);
/* The Go type docker's values would have, for messages: "string", "map[string]interface {}". */
const char *fmt_go_type(json_t *v);
/* The object's keys sorted as Go ranges over a map; free the array, not the keys. */
const char **fmt_sorted_keys(json_t *obj, size_t *n);
/* fmt's %v; top: a null reads "<no value>" as text/template prints it, else "<nil>". */
void fmt_put_value(FILE *f, json_t *v, bool top);
void fmt_put_utf8(FILE *f, uint32_t c);
void fmt_put_json_string(FILE *f, const char *s, size_t len, bool html);

/* ---- the template tree (built by template_parse.c) ---- */

struct func; /* a template function, defined with the table in template_exec.c */

enum arg_kind { A_DOT, A_FIELD, A_VAR, A_FUNC, A_LIT, A_NIL, A_PIPE };

struct arg {
    enum arg_kind kind;
    int src, end; /* source span, for messages */
    int pos;      /* where Go places it: the first chained field, if any */
    char *var;    /* A_VAR, with its '$' */
    const struct func *fn;
    json_t *lit;
    struct pipe *pipe;
    char **fields; /* field names chained after the term, NULL-terminated */
};

struct cmd {
    int pos, end;
    struct arg **args;
    size_t nargs;
};

struct pipe {
    int pos, end;
    char *decl[2]; /* declared variables */
    int ndecl;
    struct cmd **cmds;
    size_t ncmds;
};

enum node_kind { N_TEXT, N_ACTION, N_IF, N_RANGE, N_WITH };

struct list {
    struct node **v;
    size_t n;
};

struct node {
    enum node_kind kind;
    int pos, len; /* N_TEXT: the text */
    struct pipe *pipe;
    struct list body, alt;
};

struct cli_template {
    char *text;
    struct list root;
};

/* The line of text holding byte pos, from 1, for Go's "template: :LINE:" messages. */
int tmpl_line_of(const char *text, int pos);

/* ---- evaluation (template_exec.c) ---- */

/* The template function called name (len bytes), or NULL. */
const struct func *tmpl_find_func(const char *name, size_t len);
/* cli_template_exec; header: docker's header row, where the functions docker lists pass the
 * column title through and missing fields print "<no value>". */
int tmpl_execute(const struct cli_template *t, json_t *data, unsigned flags, bool header, FILE *out,
                 struct berr **err);
