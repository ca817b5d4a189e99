/* docker's --format output: values printed as Go's fmt prints them and JSON as Go's
 * encoding/json writes it (shared with the template evaluator), Go's text/tabwriter, and
 * docker's table/json/template modes on top of the template engine in template_*.c. */
#include "cli/format.h"
#include "cli/template_internal.h"
#include "common/cleanup.h"
#include "common/xalloc.h"

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

FILE *fmt_memstream(char **buf, size_t *len)
{
    FILE *f = open_memstream(buf, len);
    if (f == NULL)
        abort();
    return f;
}

char *fmt_memstream_done(FILE *f, char **buf)
{
    if (fclose(f) != 0)
        abort();
    return steal_ptr(buf);
}

void fmt_put_spaces(FILE *f, long n)
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
void fmt_put_float(FILE *f, double x, bool json)
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

const char *fmt_go_type(json_t *v)
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
const char **fmt_sorted_keys(json_t *obj, size_t *n)
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
void fmt_put_value(FILE *f, json_t *v, bool top)
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
        fmt_put_float(f, json_real_value(v), false);
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
            fmt_put_value(f, json_array_get(v, k), false);
        }
        fputc(']', f);
        break;
    }
    default: {
        size_t n;
        _cleanup_free_ const char **keys = fmt_sorted_keys(v, &n);
        fputs("map[", f);
        for (size_t k = 0; k < n; k++) {
            fprintf(f, "%s%s:", k ? " " : "", keys[k]);
            fmt_put_value(f, json_object_get(v, keys[k]), false);
        }
        fputc(']', f);
    }
    }
}

void fmt_put_utf8(FILE *f, uint32_t c)
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

/* ---- JSON as encoding/json writes it ---- */

void fmt_put_json_string(FILE *f, const char *s, size_t len, bool html)
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
            fmt_put_json_string(f, key, strlen(key), html);
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
        fmt_put_json_string(f, json_string_value(v), json_string_length(v), html);
        break;
    case JSON_INTEGER:
        fprintf(f, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        fmt_put_float(f, json_real_value(v), true);
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
    FILE *f = fmt_memstream(&buf, &len);
    put_json(f, v, indent, 0, escape_html);
    return fmt_memstream_done(f, &buf);
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
                fmt_put_spaces(w->out, w->widths[j] - l->cells[j].width);
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
    w.out = fmt_memstream(&buf, &len);
    tw_format(&w, 0, w.nlines);
    for (size_t i = 0; i < w.nlines; i++)
        free(w.lines[i].cells);
    free(w.lines);
    free(w.widths);
    return fmt_memstream_done(w.out, &buf);
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
    f->out = fmt_memstream(&f->rows, &f->len);
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
    if (tmpl_execute(f->tmpl, row, f->flags, false, f->out, err) < 0)
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
    FILE *m = fmt_memstream(&buf, &len);
    /* a header that fails to render is cut short, not an error: docker ignores it too */
    tmpl_execute(f->tmpl, f->header, f->flags, true, m, NULL);
    fputc('\n', m);
    fwrite(f->rows, 1, f->len, m);
    _cleanup_free_ char *all = fmt_memstream_done(m, &buf);
    _cleanup_free_ char *aligned = cli_tabwrite(all, 10, 1, 3);
    fputs(aligned, out);
}
