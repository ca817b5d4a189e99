/* The Go text/template lexer and parser: template text to the tree in template_internal.h,
 * with Go's parse error messages; owns cli_template_parse and cli_template_free. */
#include "cli/format.h"
#include "cli/template_internal.h"
#include "common/cleanup.h"
#include "common/strv.h"
#include "common/xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- template lexer ---- */

enum tok {
    T_TEXT,
    T_LEFT,
    T_RIGHT,
    T_EOF,
    T_FIELD,
    T_DOT,
    T_VAR,
    T_IDENT,
    T_LIT,
    T_NIL,
    T_PIPE,
    T_LPAREN,
    T_RPAREN,
    T_DECLARE,
    T_COMMA,
    T_CHAR,
    T_IF,
    T_ELSE,
    T_END,
    T_RANGE,
    T_WITH,
    T_UNSUPPORTED,
};

struct token {
    enum tok kind;
    int pos, len;
    bool spaced; /* whitespace before it: a field chained onto a term has none */
    json_t *lit; /* T_LIT */
};

struct lexer {
    const char *text;
    size_t n;
    struct token *toks;
    size_t ntoks, cap;
    struct berr **err;
};

int tmpl_line_of(const char *text, int pos)
{
    int line = 1;
    for (int k = 0; k < pos; k++)
        line += text[k] == '\n';
    return line;
}

static int parse_fail(const char *text, int pos, struct berr **err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int parse_fail(const char *text, int pos, struct berr **err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    _cleanup_free_ char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    return berr_set(err, 0, "template: :%d: %s", tmpl_line_of(text, pos), msg);
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_word(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

static struct token *push_tok(struct lexer *lx, enum tok kind, size_t pos, size_t len, bool spaced)
{
    if (lx->ntoks == lx->cap) {
        lx->cap = lx->cap ? lx->cap * 2 : 32;
        lx->toks = xreallocarray(lx->toks, lx->cap, sizeof(*lx->toks));
    }
    struct token *t = &lx->toks[lx->ntoks++];
    *t = (struct token){kind, (int)pos, (int)len, spaced, NULL};
    return t;
}

/* A Go interpreted string literal at text[i] == '"'; returns the index after it. */
static long lex_string(struct lexer *lx, size_t i, json_t **out)
{
    size_t start = i++;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = fmt_memstream(&buf, &len);
    while (i < lx->n && lx->text[i] != '"' && lx->text[i] != '\n') {
        char c = lx->text[i++];
        if (c != '\\') {
            fputc(c, f);
            continue;
        }
        char e = i < lx->n ? lx->text[i++] : 0;
        static const char simple[] = "abfnrtv\\\"";
        static const char value[] = "\a\b\f\n\r\t\v\\\"";
        const char *s = e ? strchr(simple, e) : NULL;
        if (s) {
            fputc(value[s - simple], f);
            continue;
        }
        int digits = e == 'x' ? 2 : e == 'u' ? 4 : e == 'U' ? 8 : (e >= '0' && e <= '7') ? 3 : 0;
        int base = (e >= '0' && e <= '7') ? 8 : 16;
        if (base == 8)
            i--;
        uint32_t v = 0;
        int k = 0;
        for (; k < digits && i < lx->n; k++, i++) {
            int d = isxdigit((unsigned char)lx->text[i])
                        ? (isdigit((unsigned char)lx->text[i]) ? lx->text[i] - '0'
                                                               : (lx->text[i] | 0x20) - 'a' + 10)
                        : 99;
            if (d >= base)
                break;
            v = v * (uint32_t)base + (uint32_t)d;
        }
        if (digits == 0 || k < digits || v > 0x10ffff) {
            _cleanup_free_ char *discarded = fmt_memstream_done(f, &buf);
            return parse_fail(lx->text, (int)start, lx->err, "invalid syntax in string literal");
        }
        if (e == 'x' || base == 8)
            fputc((int)v, f);
        else
            fmt_put_utf8(f, v);
    }
    _cleanup_free_ char *s = fmt_memstream_done(f, &buf);
    if (i >= lx->n || lx->text[i] != '"')
        return parse_fail(lx->text, (int)start, lx->err, "unterminated quoted string");
    *out = json_stringn_nocheck(s, len);
    return (long)i + 1;
}

/* A number at text[i], scanned as Go's lexer does so that "-.x" is refused the same way. */
static long lex_number(struct lexer *lx, size_t i, json_t **out)
{
    const char *t = lx->text;
    size_t start = i;
    const char *digits = "0123456789_";
    if (t[i] == '+' || t[i] == '-')
        i++;
    if (t[i] == '0' && (t[i + 1] | 0x20) == 'x') {
        digits = "0123456789abcdefABCDEF_";
        i += 2;
    } else if (t[i] == '0' && ((t[i + 1] | 0x20) == 'o' || (t[i + 1] | 0x20) == 'b')) {
        digits = (t[i + 1] | 0x20) == 'o' ? "01234567_" : "01_";
        i += 2;
    }
    bool is_float = false;
    while (t[i] && strchr(digits, t[i]))
        i++;
    if (t[i] == '.') {
        is_float = true;
        i++;
        while (t[i] && strchr(digits, t[i]))
            i++;
    }
    if (strlen(digits) > 15 ? (t[i] | 0x20) == 'p' : (t[i] | 0x20) == 'e') {
        is_float = true;
        i++;
        if (t[i] == '+' || t[i] == '-')
            i++;
        while (isdigit((unsigned char)t[i]) || t[i] == '_')
            i++;
    }
    if (is_word(t[i]) || t[i] == '.')
        return parse_fail(t, (int)start, lx->err, "bad number syntax: \"%.*s\"",
                          (int)(i + 1 - start), t + start);
    char clean[128];
    size_t n = 0;
    for (size_t k = start; k < i && n + 1 < sizeof(clean); k++)
        if (t[k] != '_')
            clean[n++] = t[k];
    clean[n] = 0;
    char *end;
    errno = 0;
    if (!is_float) {
        const char *p = clean + (clean[0] == '-' || clean[0] == '+');
        int base = 10;
        if (p[0] == '0' && p[1] && strchr("xXoObB", p[1]))
            base = (p[1] | 0x20) == 'x' ? 16 : (p[1] | 0x20) == 'o' ? 8 : 2;
        else if (p[0] == '0' && p[1])
            base = 8;
        long long v = strtoll(p + (base == 10 || base == 8 ? 0 : 2), &end, base);
        if (*end == 0 && errno == 0 && end != p) {
            *out = json_integer(clean[0] == '-' ? -v : v);
            return (long)i;
        }
    }
    errno = 0;
    double d = strtod(clean, &end);
    if (*end != 0 || end == clean)
        return parse_fail(t, (int)start, lx->err, "bad number syntax: \"%.*s\"", (int)(i - start),
                          t + start);
    *out = json_real(d);
    return (long)i;
}

static enum tok keyword(const char *s, size_t len, json_t **lit)
{
    static const struct {
        const char *word;
        enum tok kind;
    } words[] = {
        {"if", T_IF},
        {"else", T_ELSE},
        {"end", T_END},
        {"range", T_RANGE},
        {"with", T_WITH},
        {"nil", T_NIL},
        {"define", T_UNSUPPORTED},
        {"template", T_UNSUPPORTED},
        {"block", T_UNSUPPORTED},
        {"break", T_UNSUPPORTED},
        {"continue", T_UNSUPPORTED},
    };
    if (len == 4 && strncmp(s, "true", 4) == 0) {
        *lit = json_true();
        return T_LIT;
    }
    if (len == 5 && strncmp(s, "false", 5) == 0) {
        *lit = json_false();
        return T_LIT;
    }
    for (size_t k = 0; k < ARRAY_SIZE(words); k++)
        if (strlen(words[k].word) == len && strncmp(s, words[k].word, len) == 0)
            return words[k].kind;
    return T_IDENT;
}

/* Tokens of one action, from text[i] just after the left delimiter (and its trim marker). */
static long lex_action(struct lexer *lx, size_t i)
{
    const char *t = lx->text;
    bool spaced = false;
    for (;;) {
        if (i >= lx->n)
            return parse_fail(t, (int)lx->n, lx->err, "unclosed action");
        if (is_space(t[i]) && t[i + 1] == '-' && t[i + 2] == '}' && t[i + 3] == '}') {
            push_tok(lx, T_RIGHT, i, 4, true);
            for (i += 4; i < lx->n && is_space(t[i]); i++)
                ;
            return (long)i;
        }
        if (t[i] == '}' && t[i + 1] == '}') {
            push_tok(lx, T_RIGHT, i, 2, spaced);
            return (long)i + 2;
        }
        char c = t[i];
        if (is_space(c)) {
            spaced = true;
            i++;
            continue;
        }
        size_t start = i;
        json_t *lit = NULL;
        enum tok kind;
        long next;
        if (c == '"') {
            if ((next = lex_string(lx, i, &lit)) < 0)
                return -1;
            kind = T_LIT;
        } else if (c == '`') {
            const char *close = strchr(t + i + 1, '`');
            if (close == NULL)
                return parse_fail(t, (int)i, lx->err, "unterminated raw quoted string");
            lit = json_stringn_nocheck(t + i + 1, (size_t)(close - t - i - 1));
            kind = T_LIT;
            next = close - t + 1;
        } else if (isdigit((unsigned char)c) ||
                   ((c == '-' || c == '+' || c == '.') &&
                    (isdigit((unsigned char)t[i + 1]) || (c != '.' && t[i + 1] == '.')))) {
            if ((next = lex_number(lx, i, &lit)) < 0)
                return -1;
            kind = T_LIT;
        } else if (c == '.' || c == '$') {
            for (next = (long)i + 1; is_word(t[next]); next++)
                ;
            kind = c == '$' ? T_VAR : next == (long)i + 1 ? T_DOT : T_FIELD;
        } else if (isalpha((unsigned char)c) || c == '_') {
            for (next = (long)i; is_word(t[next]); next++)
                ;
            kind = keyword(t + i, (size_t)next - i, &lit);
        } else if (c == ':' && t[i + 1] == '=') {
            kind = T_DECLARE;
            next = (long)i + 2;
        } else if (strchr("|(),", c)) {
            kind = c == '|' ? T_PIPE : c == '(' ? T_LPAREN : c == ')' ? T_RPAREN : T_COMMA;
            next = (long)i + 1;
        } else if (c > 0x20 && c < 0x7f) {
            kind = T_CHAR;
            next = (long)i + 1;
        } else {
            return parse_fail(t, (int)i, lx->err, "bad character U+%04X", (unsigned char)c);
        }
        push_tok(lx, kind, start, (size_t)next - start, spaced)->lit = lit;
        spaced = false;
        i = (size_t)next;
    }
}

static void free_tokens(struct token *toks, size_t n)
{
    for (size_t k = 0; k < n; k++)
        json_decref(toks[k].lit);
    free(toks);
}

static int lex(const char *text, struct token **toks, size_t *ntoks, struct berr **err)
{
    struct lexer lx = {.text = text, .n = strlen(text), .err = err};
    size_t i = 0;
    while (i < lx.n) {
        const char *open = strstr(text + i, "{{");
        size_t at = open ? (size_t)(open - text) : lx.n;
        bool trim = open && open[2] == '-' && is_space(open[3]);
        size_t end = at;
        if (trim)
            while (end > i && is_space(text[end - 1]))
                end--;
        if (end > i)
            push_tok(&lx, T_TEXT, i, end - i, false);
        if (open == NULL)
            break;
        i = at + 2 + (trim ? 2 : 0);
        long next;
        if (text[i] == '/' && text[i + 1] == '*') {
            const char *close = strstr(text + i + 2, "*/");
            if (close == NULL) {
                free_tokens(lx.toks, lx.ntoks);
                return parse_fail(text, (int)i, err, "unclosed comment");
            }
            i = (size_t)(close - text) + 2;
            if (is_space(text[i]) && strncmp(text + i + 1, "-}}", 3) == 0) {
                for (i += 4; i < lx.n && is_space(text[i]); i++)
                    ;
            } else if (strncmp(text + i, "}}", 2) == 0) {
                i += 2;
            } else {
                free_tokens(lx.toks, lx.ntoks);
                return parse_fail(text, (int)i, err, "comment ends before closing delimiter");
            }
            continue;
        }
        push_tok(&lx, T_LEFT, at, 2, false);
        if ((next = lex_action(&lx, i)) < 0) {
            free_tokens(lx.toks, lx.ntoks);
            return -1;
        }
        i = (size_t)next;
    }
    push_tok(&lx, T_EOF, lx.n, 0, false);
    *toks = lx.toks;
    *ntoks = lx.ntoks;
    return 0;
}

/* ---- template tree and parser ---- */

struct parser {
    const char *text;
    struct token *toks;
    size_t i;
    struct berr **err;
    char **vars; /* variables in scope, innermost last */
    size_t nvars;
    int parens;
    int depth; /* of parentheses and control blocks; capped so no input exhausts the stack */
};

#define MAX_DEPTH 100

static void free_pipe(struct pipe *p);

static void free_arg(struct arg *a)
{
    if (a == NULL)
        return;
    free(a->var);
    json_decref(a->lit);
    free_pipe(a->pipe);
    strv_free(a->fields);
    free(a);
}

static void free_cmd(struct cmd *c)
{
    if (c == NULL)
        return;
    for (size_t k = 0; k < c->nargs; k++)
        free_arg(c->args[k]);
    free(c->args);
    free(c);
}

static void free_pipe(struct pipe *p)
{
    if (p == NULL)
        return;
    for (size_t k = 0; k < p->ncmds; k++)
        free_cmd(p->cmds[k]);
    free(p->cmds);
    free(p->decl[0]);
    free(p->decl[1]);
    free(p);
}

static void free_argp(struct arg **a)
{
    free_arg(*a);
}

static void free_cmdp(struct cmd **c)
{
    free_cmd(*c);
}

static void free_pipep(struct pipe **p)
{
    free_pipe(*p);
}

static void free_list(struct list *l);

static void free_node(struct node *n)
{
    if (n == NULL)
        return;
    free_pipe(n->pipe);
    free_list(&n->body);
    free_list(&n->alt);
    free(n);
}

static void free_nodep(struct node **n)
{
    free_node(*n);
}

static void free_list(struct list *l)
{
    for (size_t k = 0; k < l->n; k++)
        free_node(l->v[k]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static void list_add(struct list *l, struct node *n)
{
    l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
    l->v[l->n++] = n;
}

static struct token *peek(struct parser *p)
{
    return &p->toks[p->i];
}

static struct token *next_tok(struct parser *p)
{
    struct token *t = &p->toks[p->i];
    if (t->kind != T_EOF)
        p->i++;
    return t;
}

static int fail_at(struct parser *p, const struct token *t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail_at(struct parser *p, const struct token *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    _cleanup_free_ char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    return parse_fail(p->text, t->pos, p->err, "%s", msg);
}

/* How Go's parser names a token it did not expect. */
static char *describe(struct parser *p, const struct token *t)
{
    switch (t->kind) {
    case T_EOF:
        return xstrdup("EOF");
    case T_RIGHT:
        return xstrdup("<}}>");
    case T_CHAR:
        return xasprintf("\"%.*s\"", t->len, p->text + t->pos);
    default:
        return xasprintf("<%.*s>", t->len, p->text + t->pos);
    }
}

static bool var_defined(struct parser *p, const char *name, size_t len)
{
    for (size_t k = p->nvars; k-- > 0;)
        if (strlen(p->vars[k]) == len && strncmp(p->vars[k], name, len) == 0)
            return true;
    return false;
}

static void declare(struct parser *p, const char *name)
{
    p->vars = xreallocarray(p->vars, p->nvars + 1, sizeof(char *));
    p->vars[p->nvars++] = xstrdup(name);
}

static void drop_vars(struct parser *p, size_t keep)
{
    while (p->nvars > keep)
        free(p->vars[--p->nvars]);
}

static struct pipe *parse_pipe(struct parser *p, const char *context, bool decl, int maxdecl);

/* One operand: a term and the fields chained onto it (.A.B, $x.A, (pipe).A). */
static struct arg *parse_operand(struct parser *p)
{
    struct token *t = peek(p);
    _cleanup_(free_argp) struct arg *a = NULL;
    switch (t->kind) {
    case T_DOT:
    case T_FIELD:
    case T_VAR:
    case T_IDENT:
    case T_LIT:
    case T_NIL:
        next_tok(p);
        a = xzalloc(sizeof(*a));
        a->src = a->pos = t->pos;
        a->end = t->pos + t->len;
        a->fields = xcalloc(1, sizeof(char *));
        if (t->kind == T_FIELD) {
            a->kind = A_FIELD;
            _cleanup_free_ char *name = xstrndup(p->text + t->pos + 1, (size_t)t->len - 1);
            strv_append(&a->fields, name);
        } else if (t->kind == T_VAR) {
            if (!var_defined(p, p->text + t->pos, (size_t)t->len)) {
                fail_at(p, t, "undefined variable \"%.*s\"", t->len, p->text + t->pos);
                return NULL;
            }
            a->kind = A_VAR;
            a->var = xstrndup(p->text + t->pos, (size_t)t->len);
        } else if (t->kind == T_IDENT) {
            a->kind = A_FUNC;
            a->fn = tmpl_find_func(p->text + t->pos, (size_t)t->len);
            if (a->fn == NULL) {
                fail_at(p, t, "function \"%.*s\" not defined", t->len, p->text + t->pos);
                return NULL;
            }
        } else if (t->kind == T_LIT) {
            a->kind = A_LIT;
            a->lit = json_incref(t->lit);
        } else {
            a->kind = t->kind == T_DOT ? A_DOT : A_NIL;
        }
        break;
    case T_LPAREN: {
        next_tok(p);
        if (p->depth >= MAX_DEPTH) {
            fail_at(p, t, "nesting deeper than %d levels", MAX_DEPTH);
            return NULL;
        }
        a = xzalloc(sizeof(*a));
        a->kind = A_PIPE;
        a->src = a->pos = t->pos;
        a->fields = xcalloc(1, sizeof(char *));
        p->parens++;
        p->depth++;
        a->pipe = parse_pipe(p, "parenthesized pipeline", false, 0);
        p->depth--;
        p->parens--;
        if (a->pipe == NULL)
            return NULL;
        struct token *close = next_tok(p);
        if (close->kind != T_RPAREN) {
            fail_at(p, close, "unclosed left paren");
            return NULL;
        }
        a->end = close->pos + 1;
        break;
    }
    default:
        return NULL;
    }
    if (peek(p)->kind == T_FIELD && !peek(p)->spaced)
        a->pos = peek(p)->pos;
    while (peek(p)->kind == T_FIELD && !peek(p)->spaced) {
        t = next_tok(p);
        if (a->kind == A_FUNC || a->kind == A_LIT || a->kind == A_NIL || a->kind == A_DOT) {
            fail_at(p, t, "unexpected . after term \"%.*s\"", a->end - a->src, p->text + a->src);
            return NULL;
        }
        _cleanup_free_ char *name = xstrndup(p->text + t->pos + 1, (size_t)t->len - 1);
        strv_append(&a->fields, name);
        a->end = t->pos + t->len;
    }
    return steal_ptr(&a);
}

static struct cmd *parse_cmd(struct parser *p)
{
    _cleanup_(free_cmdp) struct cmd *c = xzalloc(sizeof(*c));
    c->pos = peek(p)->pos;
    for (;;) {
        struct token *t = peek(p);
        if (t->kind == T_PIPE || t->kind == T_RIGHT || (t->kind == T_RPAREN && p->parens > 0))
            break;
        if (t->kind == T_RPAREN) {
            fail_at(p, t, "unexpected right paren");
            return NULL;
        }
        if (t->kind == T_EOF) {
            fail_at(p, t, "unclosed action");
            return NULL;
        }
        struct arg *a = parse_operand(p);
        if (a == NULL) {
            if (!*p->err) {
                _cleanup_free_ char *what = describe(p, t);
                fail_at(p, t, "unexpected %s in operand", what);
            }
            return NULL;
        }
        c->args = xreallocarray(c->args, c->nargs + 1, sizeof(*c->args));
        c->args[c->nargs++] = a;
        c->end = a->end;
    }
    if (c->nargs == 0) {
        fail_at(p, peek(p), "missing value for command");
        return NULL;
    }
    return steal_ptr(&c);
}

/* A pipeline up to (not including) "}}" or ")"; decl allows "$x :=" (maxdecl variables). */
static struct pipe *parse_pipe(struct parser *p, const char *context, bool decl, int maxdecl)
{
    _cleanup_(free_pipep) struct pipe *pipe = xzalloc(sizeof(*pipe));
    pipe->pos = peek(p)->pos;
    if (decl && peek(p)->kind == T_VAR) {
        size_t save = p->i;
        struct token *v1 = next_tok(p), *v2 = NULL;
        if (peek(p)->kind == T_COMMA) {
            next_tok(p);
            v2 = peek(p)->kind == T_VAR ? next_tok(p) : NULL;
        }
        if (peek(p)->kind == T_DECLARE && (v2 == NULL || maxdecl >= 2)) {
            next_tok(p);
            pipe->decl[pipe->ndecl++] = xstrndup(p->text + v1->pos, (size_t)v1->len);
            if (v2)
                pipe->decl[pipe->ndecl++] = xstrndup(p->text + v2->pos, (size_t)v2->len);
            pipe->pos = peek(p)->pos;
        } else if (peek(p)->kind == T_DECLARE) {
            fail_at(p, peek(p), "too many declarations in %s", context);
            return NULL;
        } else {
            p->i = save;
        }
    }
    for (;;) {
        struct token *t = peek(p);
        if (t->kind == T_RIGHT || (t->kind == T_RPAREN && p->parens > 0))
            break;
        struct cmd *c = parse_cmd(p);
        if (c == NULL)
            return NULL;
        pipe->cmds = xreallocarray(pipe->cmds, pipe->ncmds + 1, sizeof(*pipe->cmds));
        pipe->cmds[pipe->ncmds++] = c;
        pipe->end = c->end;
        if (peek(p)->kind == T_PIPE)
            next_tok(p);
    }
    if (pipe->ncmds == 0) {
        fail_at(p, peek(p), "missing value for %s", context);
        return NULL;
    }
    for (size_t k = 1; k < pipe->ncmds; k++) {
        enum arg_kind first = pipe->cmds[k]->args[0]->kind;
        if (first != A_FUNC) {
            fail_at(p, peek(p), "non executable command in pipeline stage %zu", k + 1);
            return NULL;
        }
    }
    for (int k = 0; k < pipe->ndecl; k++)
        declare(p, pipe->decl[k]);
    return steal_ptr(&pipe);
}

static int expect_right(struct parser *p)
{
    struct token *t = next_tok(p);
    if (t->kind == T_RIGHT)
        return 0;
    _cleanup_free_ char *what = describe(p, t);
    return fail_at(p, t, "unexpected %s in command", what);
}

static enum tok parse_list(struct parser *p, struct list *out);
static struct node *parse_control_body(struct parser *p, enum node_kind kind, const char *name);

/* {{if}}, {{range}} or {{with}} after its keyword; the variables it declares end with it. */
static struct node *parse_control(struct parser *p, enum node_kind kind, const char *name)
{
    if (p->depth >= MAX_DEPTH) {
        fail_at(p, peek(p), "nesting deeper than %d levels", MAX_DEPTH);
        return NULL;
    }
    p->depth++;
    struct node *n = parse_control_body(p, kind, name);
    p->depth--;
    return n;
}

static struct node *parse_control_body(struct parser *p, enum node_kind kind, const char *name)
{
    size_t scope = p->nvars;
    _cleanup_(free_nodep) struct node *n = xzalloc(sizeof(*n));
    n->kind = kind;
    n->pos = peek(p)->pos;
    n->pipe = parse_pipe(p, name, true, kind == N_RANGE ? 2 : 1);
    if (n->pipe == NULL || expect_right(p) < 0)
        return NULL;
    enum tok stop = parse_list(p, &n->body);
    if (stop == T_ELSE) {
        enum tok again = peek(p)->kind;
        if ((kind == N_IF && again == T_IF) || (kind == N_WITH && again == T_WITH)) {
            /* {{else if x}} is {{else}}{{if x}}...{{end}}{{end}} sharing one {{end}} */
            next_tok(p);
            struct node *inner = parse_control(p, kind, name);
            if (inner == NULL)
                return NULL;
            list_add(&n->alt, inner);
            drop_vars(p, scope);
            return steal_ptr(&n);
        }
        if (expect_right(p) < 0)
            return NULL;
        stop = parse_list(p, &n->alt);
        if (stop == T_ELSE) {
            fail_at(p, peek(p), "expected end; found {{else}}");
            return NULL;
        }
    }
    if (stop == T_EOF) {
        if (!*p->err)
            fail_at(p, peek(p), "unexpected EOF");
        return NULL;
    }
    if (expect_right(p) < 0)
        return NULL;
    drop_vars(p, scope);
    return steal_ptr(&n);
}

/* Nodes up to {{end}}, {{else}} (left just after the keyword) or the end of the text; an
 * error also returns T_EOF, with *p->err set. */
static enum tok parse_list(struct parser *p, struct list *out)
{
    for (;;) {
        struct token *t = next_tok(p);
        if (t->kind == T_EOF)
            return T_EOF;
        if (t->kind == T_TEXT) {
            struct node *n = xzalloc(sizeof(*n));
            n->kind = N_TEXT;
            n->pos = t->pos;
            n->len = t->len;
            list_add(out, n);
            continue;
        }
        struct token *k = next_tok(p);
        struct node *n = NULL;
        switch (k->kind) {
        case T_END:
        case T_ELSE:
            return k->kind;
        case T_IF:
            n = parse_control(p, N_IF, "if");
            break;
        case T_RANGE:
            n = parse_control(p, N_RANGE, "range");
            break;
        case T_WITH:
            n = parse_control(p, N_WITH, "with");
            break;
        case T_UNSUPPORTED:
            fail_at(p, k, "{{%.*s}} is not supported", k->len, p->text + k->pos);
            return T_EOF;
        default:
            p->i--;
            n = xzalloc(sizeof(*n));
            n->kind = N_ACTION;
            n->pos = k->pos;
            n->pipe = parse_pipe(p, "command", true, 1);
            if (n->pipe == NULL || expect_right(p) < 0) {
                free_node(n);
                n = NULL;
            }
        }
        if (n == NULL)
            return T_EOF;
        list_add(out, n);
    }
}

struct cli_template *cli_template_parse(const char *text, struct berr **err)
{
    _cleanup_berr_ struct berr *e = NULL;
    struct token *toks = NULL;
    size_t ntoks = 0;
    if (lex(text, &toks, &ntoks, err) < 0)
        return NULL;
    struct cli_template *t = xzalloc(sizeof(*t));
    t->text = xstrdup(text);
    struct parser p = {.text = t->text, .toks = toks, .err = &e};
    declare(&p, "$");
    enum tok stop = parse_list(&p, &t->root);
    if (e == NULL && stop != T_EOF)
        parse_fail(t->text, p.toks[p.i - 1].pos, &e, "unexpected {{%s}}",
                   stop == T_END ? "end" : "else");
    drop_vars(&p, 0);
    free(p.vars);
    free_tokens(toks, ntoks);
    if (e) {
        cli_template_free(t);
        if (err && *err == NULL)
            *err = steal_ptr(&e);
        return NULL;
    }
    return t;
}

void cli_template_free(struct cli_template *t)
{
    if (t == NULL)
        return;
    free_list(&t->root);
    free(t->text);
    free(t);
}

void cli_template_freep(struct cli_template **t)
{
    cli_template_free(*t);
    *t = NULL;
}
