/* docker's --format machinery: a Go text/template lexer and parser into a small tree, and an
 * evaluator over jansson values that prints as Go's fmt does and offers docker's template
 * functions; Go's tabwriter; docker's table/json/template modes; and JSON written the way
 * Go's encoding/json writes it, so output can be compared with docker's byte for byte. */
#include "cli/format.h"
#include "common/cleanup.h"
#include "common/strv.h"
#include "common/xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static FILE *xmemstream(char **buf, size_t *len)
{
    FILE *f = open_memstream(buf, len);
    if (f == NULL)
        abort();
    return f;
}

static char *memstream_done(FILE *f, char **buf)
{
    if (fclose(f) != 0)
        abort();
    return steal_ptr(buf);
}

static void put_spaces(FILE *f, long n)
{
    for (; n > 0; n--)
        fputc(' ', f);
}

/* ---- numbers and values printed as Go prints them ---- */

/* The shortest digits that read back as x (finite, > 0), trailing zeros dropped, and the
 * decimal exponent of the first digit. */
static void shortest_digits(double x, char digits[32], int *exp10)
{
    char buf[64];
    for (int prec = 0; prec <= 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*e", prec, x);
        if (strtod(buf, NULL) == x)
            break;
    }
    char *e = strchr(buf, 'e');
    *exp10 = atoi(e + 1);
    size_t n = 0;
    for (const char *p = buf; p < e; p++)
        if (isdigit((unsigned char)*p))
            digits[n++] = *p;
    while (n > 1 && digits[n - 1] == '0')
        n--;
    digits[n] = 0;
}

/* strconv.FormatFloat(x, 'g' or 'e'/'f', -1, 64) as fmt's %v (json false) or encoding/json
 * (json true) choose between them. */
static void put_float(FILE *f, double x, bool json)
{
    if (isnan(x)) {
        fputs("NaN", f);
        return;
    }
    if (isinf(x)) {
        fputs(x > 0 ? "+Inf" : "-Inf", f);
        return;
    }
    if (signbit(x))
        fputc('-', f);
    double ax = fabs(x);
    if (ax == 0) {
        fputc('0', f);
        return;
    }
    char d[32];
    int exp;
    shortest_digits(ax, d, &exp);
    int nd = (int)strlen(d);
    bool use_e = json ? (ax < 1e-6 || ax >= 1e21) : (exp < -4 || exp >= 6);
    if (use_e) {
        fputc(d[0], f);
        if (nd > 1)
            fprintf(f, ".%s", d + 1);
        /* Go writes at least two exponent digits, except that encoding/json trims e-07 to e-7 */
        if (json && exp < 0 && exp > -10)
            fprintf(f, "e-%d", -exp);
        else
            fprintf(f, "e%c%02d", exp < 0 ? '-' : '+', abs(exp));
        return;
    }
    if (exp < 0) {
        fputs("0.", f);
        for (int k = 0; k < -exp - 1; k++)
            fputc('0', f);
        fputs(d, f);
        return;
    }
    for (int k = 0; k <= exp; k++)
        fputc(k < nd ? d[k] : '0', f);
    if (nd > exp + 1)
        fprintf(f, ".%s", d + exp + 1);
}

static const char *go_type(json_t *v)
{
    if (v == NULL || json_is_null(v))
        return "<nil>";
    switch (json_typeof(v)) {
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
        return "int";
    case JSON_REAL:
        return "float64";
    case JSON_TRUE:
    case JSON_FALSE:
        return "bool";
    case JSON_ARRAY:
        return "[]interface {}";
    default:
        return "map[string]interface {}";
    }
}

static int cmp_keys(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Object keys in Go's map order (sorted); the array is the caller's, the keys the object's. */
static const char **sorted_keys(json_t *obj, size_t *n)
{
    *n = json_object_size(obj);
    const char **keys = xcalloc(*n + 1, sizeof(char *));
    size_t k = 0;
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val)
    {
        keys[k++] = key;
    }
    qsort(keys, *n, sizeof(char *), cmp_keys);
    return keys;
}

/* fmt's %v. Top-level nulls and missing values read "<no value>" as text/template prints
 * them; nested ones "<nil>". */
static void put_value(FILE *f, json_t *v, bool top)
{
    if (v == NULL || json_is_null(v)) {
        fputs(top ? "<no value>" : "<nil>", f);
        return;
    }
    switch (json_typeof(v)) {
    case JSON_STRING:
        fwrite(json_string_value(v), 1, json_string_length(v), f);
        break;
    case JSON_INTEGER:
        fprintf(f, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        put_float(f, json_real_value(v), false);
        break;
    case JSON_TRUE:
        fputs("true", f);
        break;
    case JSON_FALSE:
        fputs("false", f);
        break;
    case JSON_ARRAY: {
        fputc('[', f);
        for (size_t k = 0; k < json_array_size(v); k++) {
            if (k)
                fputc(' ', f);
            put_value(f, json_array_get(v, k), false);
        }
        fputc(']', f);
        break;
    }
    default: {
        size_t n;
        _cleanup_free_ const char **keys = sorted_keys(v, &n);
        fputs("map[", f);
        for (size_t k = 0; k < n; k++) {
            fprintf(f, "%s%s:", k ? " " : "", keys[k]);
            put_value(f, json_object_get(v, keys[k]), false);
        }
        fputc(']', f);
    }
    }
}

/* ---- JSON as encoding/json writes it ---- */

static void put_json_string(FILE *f, const char *s, size_t len, bool html)
{
    static const char hex[] = "0123456789abcdef";
    fputc('"', f);
    for (size_t k = 0; k < len; k++) {
        unsigned char c = (unsigned char)s[k];
        if (c == '"' || c == '\\') {
            fputc('\\', f);
            fputc(c, f);
        } else if (c == '\n') {
            fputs("\\n", f);
        } else if (c == '\r') {
            fputs("\\r", f);
        } else if (c == '\t') {
            fputs("\\t", f);
        } else if (c == '\b') {
            fputs("\\b", f);
        } else if (c == '\f') {
            fputs("\\f", f);
        } else if (c < 0x20 || (html && (c == '<' || c == '>' || c == '&'))) {
            fprintf(f, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
        } else if (c == 0xe2 && k + 2 < len && (unsigned char)s[k + 1] == 0x80 &&
                   ((unsigned char)s[k + 2] & 0xfe) == 0xa8) {
            /* U+2028 and U+2029 end lines in JavaScript; Go escapes them */
            fprintf(f, "\\u202%c", (unsigned char)s[k + 2] == 0xa8 ? '8' : '9');
            k += 2;
        } else {
            fputc(c, f);
        }
    }
    fputc('"', f);
}

static void put_json_break(FILE *f, const char *indent, int depth)
{
    fputc('\n', f);
    for (int k = 0; k < depth; k++)
        fputs(indent, f);
}

static void put_json(FILE *f, json_t *v, const char *indent, int depth, bool html)
{
    if (v == NULL) {
        fputs("null", f);
        return;
    }
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        if (json_object_size(v) == 0) {
            fputs("{}", f);
            break;
        }
        fputc('{', f);
        const char *key;
        json_t *val;
        bool first = true;
        json_object_foreach(v, key, val)
        {
            if (!first)
                fputc(',', f);
            first = false;
            if (indent)
                put_json_break(f, indent, depth + 1);
            put_json_string(f, key, strlen(key), html);
            fputs(indent ? ": " : ":", f);
            put_json(f, val, indent, depth + 1, html);
        }
        if (indent)
            put_json_break(f, indent, depth);
        fputc('}', f);
        break;
    }
    case JSON_ARRAY:
        if (json_array_size(v) == 0) {
            fputs("[]", f);
            break;
        }
        fputc('[', f);
        for (size_t k = 0; k < json_array_size(v); k++) {
            if (k)
                fputc(',', f);
            if (indent)
                put_json_break(f, indent, depth + 1);
            put_json(f, json_array_get(v, k), indent, depth + 1, html);
        }
        if (indent)
            put_json_break(f, indent, depth);
        fputc(']', f);
        break;
    case JSON_STRING:
        put_json_string(f, json_string_value(v), json_string_length(v), html);
        break;
    case JSON_INTEGER:
        fprintf(f, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        put_float(f, json_real_value(v), true);
        break;
    case JSON_TRUE:
        fputs("true", f);
        break;
    case JSON_FALSE:
        fputs("false", f);
        break;
    case JSON_NULL:
        fputs("null", f);
        break;
    }
}

char *cli_json_encode(json_t *v, const char *indent, bool escape_html)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = xmemstream(&buf, &len);
    put_json(f, v, indent, 0, escape_html);
    return memstream_done(f, &buf);
}

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

static int line_of(const char *text, int pos)
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
    return berr_set(err, 0, "template: :%d: %s", line_of(text, pos), msg);
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

static void put_utf8(FILE *f, uint32_t c)
{
    if (c < 0x80) {
        fputc((int)c, f);
    } else if (c < 0x800) {
        fputc((int)(0xc0 | (c >> 6)), f);
        fputc((int)(0x80 | (c & 0x3f)), f);
    } else if (c < 0x10000) {
        fputc((int)(0xe0 | (c >> 12)), f);
        fputc((int)(0x80 | ((c >> 6) & 0x3f)), f);
        fputc((int)(0x80 | (c & 0x3f)), f);
    } else {
        fputc((int)(0xf0 | (c >> 18)), f);
        fputc((int)(0x80 | ((c >> 12) & 0x3f)), f);
        fputc((int)(0x80 | ((c >> 6) & 0x3f)), f);
        fputc((int)(0x80 | (c & 0x3f)), f);
    }
}

/* A Go interpreted string literal at text[i] == '"'; returns the index after it. */
static long lex_string(struct lexer *lx, size_t i, json_t **out)
{
    size_t start = i++;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = xmemstream(&buf, &len);
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
            _cleanup_free_ char *junk = memstream_done(f, &buf);
            return parse_fail(lx->text, (int)start, lx->err, "invalid syntax in string literal");
        }
        if (e == 'x' || base == 8)
            fputc((int)v, f);
        else
            put_utf8(f, v);
    }
    _cleanup_free_ char *s = memstream_done(f, &buf);
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

struct exec;
struct func;

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

struct parser {
    const char *text;
    struct token *toks;
    size_t i;
    struct berr **err;
    char **vars; /* variables in scope, innermost last */
    size_t nvars;
    int parens;
};

typedef json_t *(*func_fn)(struct exec *ex, json_t **a, size_t n);

struct func {
    const char *name;
    const char *params; /* a: any, s: string, i: int, l: list of strings */
    bool variadic;      /* more arguments of any type may follow */
    bool header_echo;   /* docker's header functions: the title passes through */
    func_fn fn;
};

static const struct func *find_func(const char *name, size_t len);

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
            a->fn = find_func(p->text + t->pos, (size_t)t->len);
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
        a = xzalloc(sizeof(*a));
        a->kind = A_PIPE;
        a->src = a->pos = t->pos;
        a->fields = xcalloc(1, sizeof(char *));
        p->parens++;
        a->pipe = parse_pipe(p, "parenthesized pipeline", false, 0);
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

/* {{if}}, {{range}} or {{with}} after its keyword; the variables it declares end with it. */
static struct node *parse_control(struct parser *p, enum node_kind kind, const char *name)
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
    int line = line_of(ex->text, pos), col = pos;
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
                      go_type(v));
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
                      param_name(echo && k == 0 ? 's' : fn->params[k]), go_type(a[k]));
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
        _cleanup_free_ const char **keys = sorted_keys(v, &count);
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
        FILE *f = xmemstream(&buf, &len);
        put_value(f, v, false);
        _cleanup_free_ char *shown = memstream_done(f, &buf);
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
                put_value(ex->out, v, true);
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

static int execute(const struct cli_template *t, json_t *data, unsigned flags, bool header,
                   FILE *out, struct berr **err)
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
    return execute(t, data, flags, false, out, err);
}

char *cli_template_render(const struct cli_template *t, json_t *data, unsigned flags,
                          struct berr **err)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = xmemstream(&buf, &len);
    int r = execute(t, data, flags, false, f, err);
    _cleanup_free_ char *s = memstream_done(f, &buf);
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
    FILE *f = xmemstream(&buf, &len);
    for (size_t k = 0; k < json_array_size(a[0]); k++) {
        json_t *s = json_array_get(a[0], k);
        if (k)
            fwrite(json_string_value(a[1]), 1, json_string_length(a[1]), f);
        fwrite(json_string_value(s), 1, json_string_length(s), f);
    }
    char *s = memstream_done(f, &buf);
    return string_result(s, len);
}

static json_t *fn_pad(struct exec *ex, json_t **a, size_t n)
{
    json_int_t before = json_integer_value(a[1]), after = json_integer_value(a[2]);
    if (before < 0 || after < 0 || before > 4096 || after > 4096)
        return fn_fail(ex, "bad padding %lld %lld", (long long)before, (long long)after);
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
            const char *it = go_type(item), *kt = go_type(key);
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
    return fn_fail(ex, "len of type %s", go_type(v));
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
    FILE *f = xmemstream(&buf, &len);
    for (size_t k = 0; k < n; k++) {
        /* fmt.Sprint separates operands only when neither side is a string */
        if (k > 0 && !json_is_string(a[k - 1]) && !json_is_string(a[k]))
            fputc(' ', f);
        put_value(f, a[k], false);
    }
    char *s = memstream_done(f, &buf);
    return string_result(s, len);
}

static json_t *fn_println(struct exec *ex, json_t **a, size_t n)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = xmemstream(&buf, &len);
    for (size_t k = 0; k < n; k++) {
        if (k > 0)
            fputc(' ', f);
        put_value(f, a[k], false);
    }
    fputc('\n', f);
    char *s = memstream_done(f, &buf);
    return string_result(s, len);
}

static void put_bad_verb(FILE *f, char verb, json_t *v)
{
    if (v == NULL || json_is_null(v)) {
        fprintf(f, "%%!%c(<nil>)", verb);
        return;
    }
    fprintf(f, "%%!%c(%s=", verb, go_type(v));
    put_value(f, v, false);
    fputc(')', f);
}

static void put_padded(FILE *f, const char *s, size_t len, int width, bool left)
{
    long pad = width > (int)len ? width - (long)len : 0;
    if (!left)
        put_spaces(f, pad);
    fwrite(s, 1, len, f);
    if (left)
        put_spaces(f, pad);
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
        put_spaces(f, pad);
    fprintf(f, "%s%s", sign, prefix);
    for (; zeros && pad > 0; pad--)
        fputc('0', f);
    fputs(digits, f);
    if (left)
        put_spaces(f, pad);
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
    FILE *m = xmemstream(&buf, &len);
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
            put_float(m, mag, false);
        else if (verb == 'G')
            fprintf(m, "%.*G", p, mag);
        else
            fprintf(m, "%.*g", p, mag);
    }
    _cleanup_free_ char *digits = memstream_done(m, &buf);
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
    FILE *m = xmemstream(&buf, &len);
    if (verb == 'v' ||
        (verb == 's' && (json_is_string(v) || json_is_array(v) || json_is_object(v)))) {
        put_value(m, v, false);
    } else if (verb == 'q' && json_is_string(v)) {
        put_json_string(m, json_string_value(v), json_string_length(v), false);
    } else if (verb == 't' && json_is_boolean(v)) {
        fputs(json_is_true(v) ? "true" : "false", m);
    } else if (verb == 'c' && json_is_integer(v)) {
        put_utf8(m, (uint32_t)json_integer_value(v));
    } else if ((verb == 'x' || verb == 'X') && json_is_string(v)) {
        for (size_t k = 0; k < json_string_length(v); k++)
            fprintf(m, verb == 'x' ? "%02x" : "%02X", (unsigned char)json_string_value(v)[k]);
    } else {
        put_bad_verb(m, verb, v);
    }
    _cleanup_free_ char *s = memstream_done(m, &buf);
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
    FILE *f = xmemstream(&buf, &len);
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
            fprintf(f, "%s%s=", k > used ? ", " : "", go_type(a[k]));
            put_value(f, a[k], false);
        }
        fputc(')', f);
    }
    char *s = memstream_done(f, &buf);
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

static const struct func *find_func(const char *name, size_t len)
{
    for (size_t k = 0; k < ARRAY_SIZE(funcs); k++)
        if (strlen(funcs[k].name) == len && strncmp(funcs[k].name, name, len) == 0)
            return &funcs[k];
    return NULL;
}

/* ---- Go's text/tabwriter ---- */

struct tw_cell {
    const char *s;
    size_t len;
    int width; /* in characters */
};

struct tw_line {
    struct tw_cell *cells;
    size_t n;
    bool newline;
};

struct tabwriter {
    struct tw_line *lines;
    size_t nlines;
    int *widths; /* widths of the columns to the left of the one being laid out */
    size_t nwidths;
    int minwidth, padding;
    FILE *out;
};

static int utf8_width(const char *s, size_t len)
{
    int w = 0;
    for (size_t k = 0; k < len; k++)
        w += ((unsigned char)s[k] & 0xc0) != 0x80;
    return w;
}

static void tw_write_lines(struct tabwriter *w, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        const struct tw_line *l = &w->lines[i];
        for (size_t j = 0; j < l->n; j++) {
            fwrite(l->cells[j].s, 1, l->cells[j].len, w->out);
            if (j < w->nwidths)
                put_spaces(w->out, w->widths[j] - l->cells[j].width);
        }
        if (l->newline)
            fputc('\n', w->out);
    }
}

/* Lays out the column after those in w->widths for lines [line0, line1): each run of lines
 * that have a cell in it forms a block as wide as its widest cell, and the columns further
 * right are laid out within the block. */
static void tw_format(struct tabwriter *w, size_t line0, size_t line1)
{
    size_t column = w->nwidths;
    for (size_t this = line0; this < line1; this ++) {
        if (column + 1 >= w->lines[this].n)
            continue;
        tw_write_lines(w, line0, this);
        line0 = this;
        int width = w->minwidth;
        for (; this < line1; this ++) {
            const struct tw_line *l = &w->lines[this];
            if (column + 1 >= l->n)
                break;
            if (l->cells[column].width + w->padding > width)
                width = l->cells[column].width + w->padding;
        }
        w->widths = xreallocarray(w->widths, w->nwidths + 1, sizeof(int));
        w->widths[w->nwidths++] = width;
        tw_format(w, line0, this);
        w->nwidths--;
        line0 = this;
        if (this == line1)
            break;
    }
    tw_write_lines(w, line0, line1);
}

char *cli_tabwrite(const char *text, int minwidth, int tabwidth, int padding)
{
    struct tabwriter w = {.minwidth = minwidth, .padding = padding};
    for (const char *p = text; *p;) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        w.lines = xreallocarray(w.lines, w.nlines + 1, sizeof(*w.lines));
        struct tw_line *l = &w.lines[w.nlines++];
        *l = (struct tw_line){.newline = eol != NULL};
        for (const char *c = p;;) {
            const char *tab = memchr(c, '\t', len - (size_t)(c - p));
            size_t clen = tab ? (size_t)(tab - c) : len - (size_t)(c - p);
            l->cells = xreallocarray(l->cells, l->n + 1, sizeof(*l->cells));
            l->cells[l->n++] = (struct tw_cell){c, clen, utf8_width(c, clen)};
            if (tab == NULL)
                break;
            c = tab + 1;
        }
        p += len + (eol ? 1 : 0);
    }
    char *buf = NULL;
    size_t len = 0;
    w.out = xmemstream(&buf, &len);
    tw_format(&w, 0, w.nlines);
    for (size_t i = 0; i < w.nlines; i++)
        free(w.lines[i].cells);
    free(w.lines);
    free(w.widths);
    return memstream_done(w.out, &buf);
}

/* ---- docker's --format modes ---- */

struct cli_format {
    bool table;
    unsigned flags;
    struct cli_template *tmpl;
    json_t *header;
    char *rows;
    size_t len;
    FILE *out;
};

struct cli_format *cli_format_new(const char *format, const char *default_format, json_t *header,
                                  unsigned flags, struct berr **err)
{
    if (format == NULL || *format == 0 || strcmp(format, "table") == 0)
        format = default_format ? default_format : "";
    bool table = strncmp(format, "table", 5) == 0;
    if (table)
        format += 5;
    else if (strcmp(format, "json") == 0)
        format = "{{json .}}";
    while (*format == ' ')
        format++;
    size_t n = strlen(format);
    while (n > 0 && format[n - 1] == ' ')
        n--;
    /* docker turns the two characters \t and \n into a tab and a newline */
    _cleanup_free_ char *text = xmalloc(n + 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (format[i] == '\\' && i + 1 < n && (format[i + 1] == 't' || format[i + 1] == 'n')) {
            text[k++] = format[++i] == 't' ? '\t' : '\n';
            continue;
        }
        text[k++] = format[i];
    }
    text[k] = 0;
    struct cli_template *t = cli_template_parse(text, err);
    if (t == NULL)
        return berr_wrap(err, "template parsing error"), NULL;
    struct cli_format *f = xzalloc(sizeof(*f));
    f->table = table;
    f->flags = flags;
    f->tmpl = t;
    f->header = header ? json_incref(header) : json_object();
    f->out = xmemstream(&f->rows, &f->len);
    return f;
}

void cli_format_free(struct cli_format *f)
{
    if (f == NULL)
        return;
    if (f->out)
        fclose(f->out);
    free(f->rows);
    cli_template_free(f->tmpl);
    json_decref(f->header);
    free(f);
}

void cli_format_freep(struct cli_format **f)
{
    cli_format_free(*f);
    *f = NULL;
}

bool cli_format_is_table(const struct cli_format *f)
{
    return f->table;
}

int cli_format_add(struct cli_format *f, json_t *row, struct berr **err)
{
    if (execute(f->tmpl, row, f->flags, false, f->out, err) < 0)
        return berr_wrap(err, "template parsing error");
    fputc('\n', f->out);
    return 0;
}

void cli_format_write(struct cli_format *f, FILE *out)
{
    if (fflush(f->out) != 0)
        abort();
    if (!f->table) {
        fwrite(f->rows, 1, f->len, out);
        return;
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *m = xmemstream(&buf, &len);
    /* a header that fails to render is cut short, not an error: docker ignores it too */
    execute(f->tmpl, f->header, f->flags, true, m, NULL);
    fputc('\n', m);
    fwrite(f->rows, 1, f->len, m);
    _cleanup_free_ char *all = memstream_done(m, &buf);
    _cleanup_free_ char *aligned = cli_tabwrite(all, 10, 1, 3);
    fputs(aligned, out);
}
