/* Evaluation of a parsed template over jansson values, with Go's execution error messages,
 * and the template functions: Go's builtins (and, eq, index, printf...) and docker's (json,
 * upper, join, pad, truncate...). Owns cli_template_exec and cli_template_render. */
#include "cli/format.h"
#include "cli/template_internal.h"
#include "common/cleanup.h"
#include "common/strv.h"
#include "common/xalloc.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- evaluation ---- */

struct var {
    const char *name;
    json_t *val;
};

struct exec {
    const char *text;
    FILE *out;
    bool missing_ok;
    bool header; /* docker's header row: titles in place of values, errors ignored */
    struct berr *e;
    struct var *vars;
    size_t nvars;
    const struct cmd *call; /* the command whose function runs, for "error calling" */
};

typedef json_t *(*func_fn)(struct exec *ex, json_t **a, size_t n);

struct func {
    const char *name;
    const char *params; /* a: any, s: string, i: int, l: list of strings */
    bool variadic;      /* more arguments of any type may follow */
    bool header_echo;   /* docker's header functions: the title passes through */
    func_fn fn;
};

/* "template: :LINE:COL: executing "" at <NODE>: MSG", COL counting bytes from 0 as Go does;
 * NODE is the source text from src to end, the position pos. */
static void exec_fail(struct exec *ex, int pos, int src, int end, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void exec_fail(struct exec *ex, int pos, int src, int end, const char *fmt, ...)
{
    if (ex->e)
        return;
    va_list ap;
    va_start(ap, fmt);
    _cleanup_free_ char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    int line = tmpl_line_of(ex->text, pos), col = pos;
    for (int k = pos - 1; k >= 0; k--)
        if (ex->text[k] == '\n') {
            col = pos - k - 1;
            break;
        }
    ex->e = berr_new(0, "template: :%d:%d: executing \"\" at <%.*s>: %s", line, col, end - src,
                     ex->text + src, msg);
}

/* A failure inside a template function, reported on its whole command as Go does. */
static json_t *fn_fail(struct exec *ex, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static json_t *fn_fail(struct exec *ex, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    _cleanup_free_ char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    const struct arg *fn = ex->call->args[0];
    exec_fail(ex, ex->call->pos, ex->call->pos, ex->call->end, "error calling %.*s: %s",
              fn->end - fn->src, ex->text + fn->src, msg);
    return NULL;
}

static void push_var(struct exec *ex, const char *name, json_t *val)
{
    ex->vars = xreallocarray(ex->vars, ex->nvars + 1, sizeof(*ex->vars));
    ex->vars[ex->nvars++] = (struct var){name, val};
}

static void pop_vars(struct exec *ex, size_t mark)
{
    while (ex->nvars > mark)
        json_decref(ex->vars[--ex->nvars].val);
}

static bool truth(json_t *v)
{
    if (v == NULL)
        return false;
    switch (json_typeof(v)) {
    case JSON_TRUE:
        return true;
    case JSON_INTEGER:
        return json_integer_value(v) != 0;
    case JSON_REAL:
        return json_real_value(v) != 0;
    case JSON_STRING:
        return json_string_length(v) > 0;
    case JSON_ARRAY:
        return json_array_size(v) > 0;
    case JSON_OBJECT:
        return json_object_size(v) > 0;
    default:
        return false;
    }
}

/* Follows a's chained fields from v (owned). Missing fields of an object are "no value"
 * (NULL) where the data is a map in docker, an error where it is a struct. */
static json_t *eval_fields(struct exec *ex, const struct arg *a, json_t *v)
{
    for (char **f = a->fields; *f; f++) {
        if (v == NULL)
            continue;
        if (json_is_object(v)) {
            json_t *x = json_object_get(v, *f);
            if (x == NULL && !ex->missing_ok && !ex->header)
                exec_fail(ex, a->pos, a->src, a->end, "can't evaluate field %s in type object", *f);
            json_incref(x);
            json_decref(v);
            v = x;
        } else if (json_is_null(v)) {
            exec_fail(ex, a->pos, a->src, a->end, "nil pointer evaluating interface {}.%s", *f);
        } else {
            exec_fail(ex, a->pos, a->src, a->end, "can't evaluate field %s in type %s", *f,
                      fmt_go_type(v));
        }
        if (ex->e) {
            json_decref(v);
            return NULL;
        }
    }
    return v;
}

static json_t *eval_pipe(struct exec *ex, const struct pipe *p, json_t *dot);
static json_t *call_func(struct exec *ex, const struct cmd *c, size_t first, json_t *dot,
                         json_t *final, bool has_final);

static json_t *eval_arg(struct exec *ex, const struct cmd *c, size_t k, json_t *dot)
{
    const struct arg *a = c->args[k];
    json_t *v = NULL;
    switch (a->kind) {
    case A_DOT:
    case A_FIELD:
        v = json_incref(dot);
        break;
    case A_VAR:
        for (size_t i = ex->nvars; i-- > 0;)
            if (strcmp(ex->vars[i].name, a->var) == 0) {
                v = json_incref(ex->vars[i].val);
                break;
            }
        break;
    case A_LIT:
        v = json_incref(a->lit);
        break;
    case A_NIL:
        v = json_null();
        break;
    case A_PIPE:
        v = eval_pipe(ex, a->pipe, dot);
        break;
    case A_FUNC:
        /* a function named as an argument is called without arguments, as in Go */
        v = call_func(ex, c, k, dot, NULL, false);
        break;
    }
    if (ex->e) {
        json_decref(v);
        return NULL;
    }
    return eval_fields(ex, a, v);
}

static const char *param_name(char p)
{
    return p == 's' ? "string" : p == 'i' ? "int" : "[]string";
}

static bool param_ok(char p, json_t *v)
{
    switch (p) {
    case 's':
        return json_is_string(v);
    case 'i':
        return json_is_integer(v);
    case 'l': {
        if (!json_is_array(v))
            return false;
        for (size_t k = 0; k < json_array_size(v); k++)
            if (!json_is_string(json_array_get(v, k)))
                return false;
        return true;
    }
    default:
        return true;
    }
}

/* Calls the function named by c->args[first] with the arguments after it (only when first
 * is 0) and the value piped in from the previous command. */
static json_t *call_func(struct exec *ex, const struct cmd *c, size_t first, json_t *dot,
                         json_t *final, bool has_final)
{
    const struct arg *id = c->args[first];
    const struct func *fn = id->fn;
    size_t given = first == 0 ? c->nargs - 1 : 0;
    size_t n = given + (has_final ? 1 : 0), nparams = strlen(fn->params);
    if (n < nparams || (!fn->variadic && n > nparams)) {
        exec_fail(ex, id->pos, id->src, id->end, "wrong number of args for %s: want %s%zu got %zu",
                  fn->name, fn->variadic ? "at least " : "", nparams, n);
        return NULL;
    }
    json_t **a = xcalloc(n + 1, sizeof(json_t *));
    json_t *result = NULL;
    for (size_t k = 0; k < given && !ex->e; k++)
        a[k] = eval_arg(ex, c, k + 1, dot);
    if (has_final)
        a[n - 1] = json_incref(final);
    bool echo = ex->header && fn->header_echo;
    for (size_t k = 0; k < nparams && !ex->e; k++) {
        /* docker's header functions take the column title (a string) first */
        if (param_ok(echo && k == 0 ? 's' : fn->params[k], a[k]))
            continue;
        const struct arg *at = k < given ? c->args[k + 1] : id;
        if (a[k] == NULL || json_is_null(a[k]))
            exec_fail(ex, at->pos, at->src, at->end, "invalid value; expected %s",
                      param_name(echo && k == 0 ? 's' : fn->params[k]));
        else
            exec_fail(ex, at->pos, at->src, at->end, "wrong type for value; expected %s; got %s",
                      param_name(echo && k == 0 ? 's' : fn->params[k]), fmt_go_type(a[k]));
    }
    if (!ex->e) {
        if (echo) {
            result = json_incref(a[0]);
        } else {
            const struct cmd *saved = ex->call;
            ex->call = c;
            result = fn->fn(ex, a, n);
            ex->call = saved;
        }
    }
    for (size_t k = 0; k < n; k++)
        json_decref(a[k]);
    free(a);
    return result;
}

static json_t *eval_cmd(struct exec *ex, const struct cmd *c, json_t *dot, json_t *final,
                        bool has_final)
{
    const struct arg *first = c->args[0];
    if (first->kind == A_FUNC)
        return call_func(ex, c, 0, dot, final, has_final);
    if (first->kind == A_NIL) {
        exec_fail(ex, first->pos, first->src, first->end, "nil is not a command");
        return NULL;
    }
    if (c->nargs > 1 || has_final) {
        size_t nf = strv_length(first->fields);
        if (nf > 0)
            exec_fail(ex, first->pos, first->src, first->end,
                      "%s has arguments but cannot be invoked as function", first->fields[nf - 1]);
        else
            exec_fail(ex, first->pos, first->src, first->end,
                      "can't give argument to non-function %.*s", first->end - first->src,
                      ex->text + first->src);
        return NULL;
    }
    return eval_arg(ex, c, 0, dot);
}

static json_t *eval_pipe(struct exec *ex, const struct pipe *p, json_t *dot)
{
    json_t *v = NULL;
    for (size_t k = 0; k < p->ncmds && !ex->e; k++) {
        json_t *next = eval_cmd(ex, p->cmds[k], dot, v, k > 0);
        json_decref(v);
        v = next;
    }
    if (ex->e) {
        json_decref(v);
        return NULL;
    }
    return v;
}

static void walk(struct exec *ex, const struct list *l, json_t *dot);

static void walk_range(struct exec *ex, const struct node *n, json_t *dot)
{
    _cleanup_json_ json_t *v = eval_pipe(ex, n->pipe, dot);
    if (ex->e)
        return;
    size_t mark = ex->nvars;
    const struct pipe *p = n->pipe;
    if (json_is_array(v) && json_array_size(v) > 0) {
        for (size_t k = 0; k < json_array_size(v) && !ex->e; k++) {
            json_t *e = json_array_get(v, k);
            if (p->ndecl == 2)
                push_var(ex, p->decl[0], json_integer((json_int_t)k));
            if (p->ndecl > 0)
                push_var(ex, p->decl[p->ndecl - 1], json_incref(e));
            walk(ex, &n->body, e);
            pop_vars(ex, mark);
        }
    } else if (json_is_object(v) && json_object_size(v) > 0) {
        size_t count;
        _cleanup_free_ const char **keys = fmt_sorted_keys(v, &count);
        for (size_t k = 0; k < count && !ex->e; k++) {
            json_t *e = json_object_get(v, keys[k]);
            if (p->ndecl == 2)
                push_var(ex, p->decl[0], json_string(keys[k]));
            if (p->ndecl > 0)
                push_var(ex, p->decl[p->ndecl - 1], json_incref(e));
            walk(ex, &n->body, e);
            pop_vars(ex, mark);
        }
    } else if (v == NULL || json_is_null(v) || json_is_array(v) || json_is_object(v)) {
        walk(ex, &n->alt, dot);
    } else {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = fmt_memstream(&buf, &len);
        fmt_put_value(f, v, false);
        _cleanup_free_ char *shown = fmt_memstream_done(f, &buf);
        exec_fail(ex, p->pos, p->pos, p->end, "range can't iterate over %s", shown);
    }
}

static void walk(struct exec *ex, const struct list *l, json_t *dot)
{
    size_t mark = ex->nvars;
    for (size_t k = 0; k < l->n && !ex->e; k++) {
        const struct node *n = l->v[k];
        if (n->kind == N_TEXT) {
            fwrite(ex->text + n->pos, 1, (size_t)n->len, ex->out);
            continue;
        }
        if (n->kind == N_RANGE) {
            walk_range(ex, n, dot);
            continue;
        }
        size_t inner = ex->nvars;
        json_t *v = eval_pipe(ex, n->pipe, dot);
        if (ex->e)
            break;
        if (n->pipe->ndecl > 0)
            push_var(ex, n->pipe->decl[0], json_incref(v));
        if (n->kind == N_ACTION) {
            if (n->pipe->ndecl == 0)
                fmt_put_value(ex->out, v, true);
        } else if (truth(v)) {
            walk(ex, &n->body, n->kind == N_WITH ? v : dot);
        } else {
            walk(ex, &n->alt, dot);
        }
        if (n->kind != N_ACTION)
            pop_vars(ex, inner);
        json_decref(v);
    }
    pop_vars(ex, mark);
}

int tmpl_execute(const struct cli_template *t, json_t *data, unsigned flags, bool header, FILE *out,
                 struct berr **err)
{
    struct exec ex = {.text = t->text, .out = out, .header = header};
    ex.missing_ok = flags & CLI_TMPL_MISSING_OK;
    push_var(&ex, "$", json_incref(data));
    walk(&ex, &t->root, data);
    pop_vars(&ex, 0);
    free(ex.vars);
    if (ex.e) {
        if (err && *err == NULL)
            *err = ex.e;
        else
            berr_free(ex.e);
        return -1;
    }
    return 0;
}

int cli_template_exec(const struct cli_template *t, json_t *data, unsigned flags, FILE *out,
                      struct berr **err)
{
    return tmpl_execute(t, data, flags, false, out, err);
}

char *cli_template_render(const struct cli_template *t, json_t *data, unsigned flags,
                          struct berr **err)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = fmt_memstream(&buf, &len);
    int r = tmpl_execute(t, data, flags, false, f, err);
    _cleanup_free_ char *s = fmt_memstream_done(f, &buf);
    return r < 0 ? NULL : steal_ptr(&s);
}

/* ---- template functions ---- */

static json_t *string_result(char *buf, size_t len)
{
    json_t *v = json_stringn_nocheck(buf, len);
    free(buf);
    return v;
}

static json_t *fn_json(struct exec *ex, json_t **a, size_t n)
{
    char *s = cli_json_encode(a[0], NULL, false);
    return string_result(s, strlen(s));
}

static json_t *change_case(json_t *v, int (*conv)(int))
{
    size_t len = json_string_length(v);
    char *s = xmalloc(len + 1);
    memcpy(s, json_string_value(v), len + 1);
    for (size_t k = 0; k < len; k++)
        if ((unsigned char)s[k] < 0x80)
            s[k] = (char)conv((unsigned char)s[k]);
    return string_result(s, len);
}

static json_t *fn_upper(struct exec *ex, json_t **a, size_t n)
{
    return change_case(a[0], toupper);
}

static json_t *fn_lower(struct exec *ex, json_t **a, size_t n)
{
    return change_case(a[0], tolower);
}

/* Capitalises the first letter of each word and leaves the rest alone, as docker's title
 * (golang.org/x/text cases.Title with NoLower). */
static json_t *fn_title(struct exec *ex, json_t **a, size_t n)
{
    size_t len = json_string_length(a[0]);
    char *s = xmalloc(len + 1);
    memcpy(s, json_string_value(a[0]), len + 1);
    bool start = true;
    for (size_t k = 0; k < len; k++) {
        unsigned char c = (unsigned char)s[k];
        if (start && c < 0x80)
            s[k] = (char)toupper(c);
        start = !(isalnum(c) || c == '_' || c == '\'' || c >= 0x80);
    }
    return string_result(s, len);
}

static json_t *fn_split(struct exec *ex, json_t **a, size_t n)
{
    const char *s = json_string_value(a[0]), *sep = json_string_value(a[1]);
    size_t len = json_string_length(a[0]), seplen = json_string_length(a[1]);
    json_t *out = json_array();
    if (seplen == 0) {
        for (size_t k = 0; k < len;) {
            size_t c = 1;
            while (k + c < len && ((unsigned char)s[k + c] & 0xc0) == 0x80)
                c++;
            json_array_append_new(out, json_stringn_nocheck(s + k, c));
            k += c;
        }
        return out;
    }
    const char *p = s, *end = s + len;
    for (;;) {
        const char *hit = memmem(p, (size_t)(end - p), sep, seplen);
        if (hit == NULL)
            break;
        json_array_append_new(out, json_stringn_nocheck(p, (size_t)(hit - p)));
        p = hit + seplen;
    }
    json_array_append_new(out, json_stringn_nocheck(p, (size_t)(end - p)));
    return out;
}

static json_t *fn_join(struct exec *ex, json_t **a, size_t n)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = fmt_memstream(&buf, &len);
    for (size_t k = 0; k < json_array_size(a[0]); k++) {
        json_t *s = json_array_get(a[0], k);
        if (k)
            fwrite(json_string_value(a[1]), 1, json_string_length(a[1]), f);
        fwrite(json_string_value(s), 1, json_string_length(s), f);
    }
    char *s = fmt_memstream_done(f, &buf);
    return string_result(s, len);
}

static json_t *fn_pad(struct exec *ex, json_t **a, size_t n)
{
    json_int_t before = json_integer_value(a[1]), after = json_integer_value(a[2]);
    if (before < 0 || after < 0 || before > 4096 || after > 4096)
        return fn_fail(ex, "bad padding %lld %lld", (long long)before, (long long)after);
    /* docker's pad leaves an empty string empty */
    if (json_string_length(a[0]) == 0)
        return json_string("");
    return json_sprintf("%*s%s%*s", (int)before, "", json_string_value(a[0]), (int)after, "");
}

static json_t *fn_truncate(struct exec *ex, json_t **a, size_t n)
{
    json_int_t max = json_integer_value(a[1]);
    if (max < 0)
        return fn_fail(ex, "negative length %lld", (long long)max);
    size_t len = json_string_length(a[0]);
    return json_stringn_nocheck(json_string_value(a[0]), len < (size_t)max ? len : (size_t)max);
}

/* A map's missing key gives its element type's zero value: "" for a map of strings (docker's
 * label maps), nothing for anything else. */
static json_t *zero_of(json_t *obj)
{
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val)
    {
        if (!json_is_string(val))
            return NULL;
    }
    return json_string("");
}

static json_t *fn_index(struct exec *ex, json_t **a, size_t n)
{
    json_t *item = json_incref(a[0]);
    for (size_t k = 1; k < n; k++) {
        json_t *key = a[k], *next = NULL;
        if (item == NULL || json_is_null(item)) {
            json_decref(item);
            return fn_fail(ex, "index of untyped nil");
        }
        if (json_is_object(item) && json_is_string(key)) {
            next = json_incref(json_object_get(item, json_string_value(key)));
            if (next == NULL)
                next = zero_of(item);
        } else if ((json_is_array(item) || json_is_string(item)) && json_is_integer(key)) {
            json_int_t i = json_integer_value(key);
            size_t size = json_is_array(item) ? json_array_size(item) : json_string_length(item);
            if (i < 0 || (size_t)i >= size) {
                json_decref(item);
                return fn_fail(ex, "index out of range: %lld", (long long)i);
            }
            next = json_is_array(item) ? json_incref(json_array_get(item, (size_t)i))
                                       : json_integer((unsigned char)json_string_value(item)[i]);
        } else {
            const char *it = fmt_go_type(item), *kt = fmt_go_type(key);
            json_decref(item);
            if (json_is_object(a[0]) || json_is_array(a[0]) || json_is_string(a[0]))
                return fn_fail(ex, "cannot index %s with %s", it, kt);
            return fn_fail(ex, "can't index item of type %s", it);
        }
        json_decref(item);
        item = next;
    }
    return item;
}

static json_t *fn_len(struct exec *ex, json_t **a, size_t n)
{
    json_t *v = a[0];
    if (json_is_string(v))
        return json_integer((json_int_t)json_string_length(v));
    if (json_is_array(v))
        return json_integer((json_int_t)json_array_size(v));
    if (json_is_object(v))
        return json_integer((json_int_t)json_object_size(v));
    return fn_fail(ex, "len of type %s", fmt_go_type(v));
}

static json_t *fn_and(struct exec *ex, json_t **a, size_t n)
{
    for (size_t k = 0; k + 1 < n; k++)
        if (!truth(a[k]))
            return json_incref(a[k]);
    return json_incref(a[n - 1]);
}

static json_t *fn_or(struct exec *ex, json_t **a, size_t n)
{
    for (size_t k = 0; k + 1 < n; k++)
        if (truth(a[k]))
            return json_incref(a[k]);
    return json_incref(a[n - 1]);
}

static json_t *fn_not(struct exec *ex, json_t **a, size_t n)
{
    return json_boolean(!truth(a[0]));
}

enum basic { B_BOOL, B_INT, B_FLOAT, B_STRING, B_NONE };

static enum basic basic_kind(json_t *v)
{
    if (json_is_boolean(v))
        return B_BOOL;
    if (json_is_integer(v))
        return B_INT;
    if (json_is_real(v))
        return B_FLOAT;
    if (json_is_string(v))
        return B_STRING;
    return B_NONE;
}

/* Go's template comparisons: basic values of one kind only. *cmp gets <0, 0 or >0. */
static int compare(struct exec *ex, json_t *x, json_t *y, bool ordered, int *cmp)
{
    enum basic kx = basic_kind(x), ky = basic_kind(y);
    if (kx == B_NONE || ky == B_NONE || (ordered && kx == B_BOOL)) {
        fn_fail(ex, "invalid type for comparison");
        return -1;
    }
    if (kx != ky) {
        fn_fail(ex, "incompatible types for comparison");
        return -1;
    }
    switch (kx) {
    case B_BOOL:
        *cmp = json_is_true(x) - json_is_true(y);
        break;
    case B_INT:
        *cmp = (json_integer_value(x) > json_integer_value(y)) -
               (json_integer_value(x) < json_integer_value(y));
        break;
    case B_FLOAT:
        *cmp =
            (json_real_value(x) > json_real_value(y)) - (json_real_value(x) < json_real_value(y));
        break;
    default:
        *cmp = strcmp(json_string_value(x), json_string_value(y));
    }
    return 0;
}

static json_t *fn_eq(struct exec *ex, json_t **a, size_t n)
{
    if (n < 2)
        return fn_fail(ex, "missing argument for comparison");
    for (size_t k = 1; k < n; k++) {
        int cmp;
        if (compare(ex, a[0], a[k], false, &cmp) < 0)
            return NULL;
        if (cmp == 0)
            return json_true();
    }
    return json_false();
}

static json_t *fn_ne(struct exec *ex, json_t **a, size_t n)
{
    int cmp;
    return compare(ex, a[0], a[1], false, &cmp) < 0 ? NULL : json_boolean(cmp != 0);
}

static json_t *fn_lt(struct exec *ex, json_t **a, size_t n)
{
    int cmp;
    return compare(ex, a[0], a[1], true, &cmp) < 0 ? NULL : json_boolean(cmp < 0);
}

static json_t *fn_le(struct exec *ex, json_t **a, size_t n)
{
    int cmp;
    return compare(ex, a[0], a[1], true, &cmp) < 0 ? NULL : json_boolean(cmp <= 0);
}

static json_t *fn_gt(struct exec *ex, json_t **a, size_t n)
{
    int cmp;
    return compare(ex, a[0], a[1], true, &cmp) < 0 ? NULL : json_boolean(cmp > 0);
}

static json_t *fn_ge(struct exec *ex, json_t **a, size_t n)
{
    int cmp;
    return compare(ex, a[0], a[1], true, &cmp) < 0 ? NULL : json_boolean(cmp >= 0);
}

static json_t *fn_print(struct exec *ex, json_t **a, size_t n)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = fmt_memstream(&buf, &len);
    for (size_t k = 0; k < n; k++) {
        /* fmt.Sprint separates operands only when neither side is a string */
        if (k > 0 && !json_is_string(a[k - 1]) && !json_is_string(a[k]))
            fputc(' ', f);
        fmt_put_value(f, a[k], false);
    }
    char *s = fmt_memstream_done(f, &buf);
    return string_result(s, len);
}

static json_t *fn_println(struct exec *ex, json_t **a, size_t n)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = fmt_memstream(&buf, &len);
    for (size_t k = 0; k < n; k++) {
        if (k > 0)
            fputc(' ', f);
        fmt_put_value(f, a[k], false);
    }
    fputc('\n', f);
    char *s = fmt_memstream_done(f, &buf);
    return string_result(s, len);
}

static void put_bad_verb(FILE *f, char verb, json_t *v)
{
    if (v == NULL || json_is_null(v)) {
        fprintf(f, "%%!%c(<nil>)", verb);
        return;
    }
    fprintf(f, "%%!%c(%s=", verb, fmt_go_type(v));
    fmt_put_value(f, v, false);
    fputc(')', f);
}

static void put_padded(FILE *f, const char *s, size_t len, int width, bool left)
{
    long pad = width > (int)len ? width - (long)len : 0;
    if (!left)
        fmt_put_spaces(f, pad);
    fwrite(s, 1, len, f);
    if (left)
        fmt_put_spaces(f, pad);
}

/* A number laid out as fmt does: sign (or '+', ' '), then zeros up to the width with the '0'
 * flag, or spaces on the left, or on the right with '-'. */
static void put_number(FILE *f, const char *flags, int width, bool neg, const char *prefix,
                       const char *digits)
{
    const char *sign = neg ? "-" : strchr(flags, '+') ? "+" : strchr(flags, ' ') ? " " : "";
    bool left = strchr(flags, '-') != NULL, zeros = !left && strchr(flags, '0') != NULL;
    long len = (long)(strlen(sign) + strlen(prefix) + strlen(digits));
    long pad = width > len ? width - len : 0;
    if (!left && !zeros)
        fmt_put_spaces(f, pad);
    fprintf(f, "%s%s", sign, prefix);
    for (; zeros && pad > 0; pad--)
        fputc('0', f);
    fputs(digits, f);
    if (left)
        fmt_put_spaces(f, pad);
}

static void put_integer(FILE *f, char verb, const char *flags, int width, int prec, json_int_t v)
{
    unsigned long long mag = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    char digits[80];
    if (verb == 'x')
        snprintf(digits, sizeof(digits), "%llx", mag);
    else if (verb == 'X')
        snprintf(digits, sizeof(digits), "%llX", mag);
    else if (verb == 'o')
        snprintf(digits, sizeof(digits), "%llo", mag);
    else
        snprintf(digits, sizeof(digits), "%llu", mag);
    _cleanup_free_ char *body = NULL;
    if (prec >= 0 && (size_t)prec > strlen(digits))
        body = xasprintf("%0*d%s", prec - (int)strlen(digits), 0, digits);
    const char *prefix = "";
    if (strchr(flags, '#'))
        prefix = verb == 'x' ? "0x" : verb == 'X' ? "0X" : verb == 'o' ? "0" : "";
    /* with a precision, the '0' flag does not apply (as in C and Go) */
    char used[8];
    size_t n = 0;
    for (const char *c = flags; *c && n + 1 < sizeof(used); c++)
        if (*c != '0' || prec < 0)
            used[n++] = *c;
    used[n] = 0;
    put_number(f, used, width, v < 0, prefix, body ? body : digits);
}

static void put_real(FILE *f, char verb, const char *flags, int width, int prec, double v)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = fmt_memstream(&buf, &len);
    double mag = fabs(v);
    int p = prec < 0 ? 6 : prec;
    switch (verb) {
    case 'e':
        fprintf(m, "%.*e", p, mag);
        break;
    case 'E':
        fprintf(m, "%.*E", p, mag);
        break;
    case 'f':
    case 'F':
        fprintf(m, "%.*f", p, mag);
        break;
    default:
        /* without a precision, %g is Go's shortest form rather than C's six digits */
        if (prec < 0)
            fmt_put_float(m, mag, false);
        else if (verb == 'G')
            fprintf(m, "%.*G", p, mag);
        else
            fprintf(m, "%.*g", p, mag);
    }
    _cleanup_free_ char *digits = fmt_memstream_done(m, &buf);
    put_number(f, flags, width, signbit(v), "", digits);
}

/* One fmt verb with its flags, width and precision (-1: none). */
static void put_verb(FILE *f, char verb, const char *flags, int width, int prec, json_t *v)
{
    bool left = strchr(flags, '-') != NULL;
    if (strchr("dxXo", verb) && json_is_integer(v)) {
        put_integer(f, verb, flags, width, prec, json_integer_value(v));
        return;
    }
    if (strchr("eEfFgG", verb) && json_is_real(v)) {
        put_real(f, verb, flags, width, prec, json_real_value(v));
        return;
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *m = fmt_memstream(&buf, &len);
    if (verb == 'v' ||
        (verb == 's' && (json_is_string(v) || json_is_array(v) || json_is_object(v)))) {
        fmt_put_value(m, v, false);
    } else if (verb == 'q' && json_is_string(v)) {
        fmt_put_json_string(m, json_string_value(v), json_string_length(v), false);
    } else if (verb == 't' && json_is_boolean(v)) {
        fputs(json_is_true(v) ? "true" : "false", m);
    } else if (verb == 'c' && json_is_integer(v)) {
        fmt_put_utf8(m, (uint32_t)json_integer_value(v));
    } else if ((verb == 'x' || verb == 'X') && json_is_string(v)) {
        for (size_t k = 0; k < json_string_length(v); k++)
            fprintf(m, verb == 'x' ? "%02x" : "%02X", (unsigned char)json_string_value(v)[k]);
    } else {
        put_bad_verb(m, verb, v);
    }
    _cleanup_free_ char *s = fmt_memstream_done(m, &buf);
    if (verb == 's' && prec >= 0 && (size_t)prec < len)
        len = (size_t)prec;
    put_padded(f, s, len, width, left);
}

static json_t *fn_printf(struct exec *ex, json_t **a, size_t n)
{
    const char *fmt = json_string_value(a[0]);
    size_t flen = json_string_length(a[0]), used = 1;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = fmt_memstream(&buf, &len);
    for (size_t i = 0; i < flen; i++) {
        if (fmt[i] != '%') {
            fputc(fmt[i], f);
            continue;
        }
        char flags[8];
        size_t nf = 0;
        for (i++; i < flen && strchr("+-# 0", fmt[i]); i++)
            if (nf + 1 < sizeof(flags))
                flags[nf++] = fmt[i];
        flags[nf] = 0;
        int width = -1, prec = -1;
        /* widths are capped: a template is user input and must not make huge output */
        for (; i < flen && isdigit((unsigned char)fmt[i]); i++)
            width = (width < 0 ? 0 : width) * 10 % 100000 + (fmt[i] - '0');
        if (i < flen && fmt[i] == '.')
            for (prec = 0, i++; i < flen && isdigit((unsigned char)fmt[i]); i++)
                prec = prec * 10 % 100000 + (fmt[i] - '0');
        if (i >= flen) {
            fputs("%!(NOVERB)", f);
            break;
        }
        if (fmt[i] == '%') {
            fputc('%', f);
            continue;
        }
        if (used >= n) {
            fprintf(f, "%%!%c(MISSING)", fmt[i]);
            continue;
        }
        put_verb(f, fmt[i], flags, width > 4096 ? 4096 : width, prec > 4096 ? 4096 : prec,
                 a[used++]);
    }
    if (used < n) {
        fputs("%!(EXTRA ", f);
        for (size_t k = used; k < n; k++) {
            fprintf(f, "%s%s=", k > used ? ", " : "", fmt_go_type(a[k]));
            fmt_put_value(f, a[k], false);
        }
        fputc(')', f);
    }
    char *s = fmt_memstream_done(f, &buf);
    return string_result(s, len);
}

static const struct func funcs[] = {
    {"and", "a", true, false, fn_and},
    {"eq", "a", true, false, fn_eq},
    {"ge", "aa", false, false, fn_ge},
    {"gt", "aa", false, false, fn_gt},
    {"index", "a", true, false, fn_index},
    {"join", "ls", false, true, fn_join},
    {"json", "a", false, true, fn_json},
    {"le", "aa", false, false, fn_le},
    {"len", "a", false, false, fn_len},
    {"lower", "s", false, true, fn_lower},
    {"lt", "aa", false, false, fn_lt},
    {"ne", "aa", false, false, fn_ne},
    {"not", "a", false, false, fn_not},
    {"or", "a", true, false, fn_or},
    {"pad", "sii", false, true, fn_pad},
    {"print", "", true, false, fn_print},
    {"printf", "s", true, false, fn_printf},
    {"println", "", true, false, fn_println},
    {"split", "ss", false, true, fn_split},
    {"title", "s", false, true, fn_title},
    {"truncate", "si", false, true, fn_truncate},
    {"upper", "s", false, true, fn_upper},
};

const struct func *tmpl_find_func(const char *name, size_t len)
{
    for (size_t k = 0; k < ARRAY_SIZE(funcs); k++)
        if (strlen(funcs[k].name) == len && strncmp(funcs[k].name, name, len) == 0)
            return &funcs[k];
    return NULL;
}
