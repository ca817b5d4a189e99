/* Status rows for pull and push. On a terminal, a row is redrawn in place by moving the cursor
 * up to it and back, as docker's jsonmessage does. */
#include <stdlib.h>
#include <string.h>

#include "cli/progress.h"
#include "common/xalloc.h"

struct cli_progress_row {
    char id[16];
    char *status;
};

void cli_progress_init(struct cli_progress *p, FILE *out, bool tty)
{
    memset(p, 0, sizeof(*p));
    p->out = out;
    p->tty = tty;
}

void cli_progress_set(struct cli_progress *p, const char *id, const char *status, const char *bar)
{
    size_t i = 0;
    while (i < p->n && strcmp(p->rows[i].id, id) != 0)
        i++;
    if (i == p->n) {
        p->rows = xreallocarray(p->rows, p->n + 1, sizeof(*p->rows));
        memset(&p->rows[i], 0, sizeof(p->rows[i]));
        snprintf(p->rows[i].id, sizeof(p->rows[i].id), "%s", id);
        p->n++;
        if (p->tty)
            fputc('\n', p->out); /* the new row's line */
    }
    struct cli_progress_row *r = &p->rows[i];
    bool changed = r->status == NULL || strcmp(r->status, status) != 0;
    if (!p->tty) {
        if (changed)
            fprintf(p->out, "%s: %s\n", id, status);
    } else {
        size_t up = p->n - i;
        fprintf(p->out, "\033[%zuA\r\033[2K%s: %s%s%s\033[%zuB\r", up, id, status, bar ? " " : "",
                bar ? bar : "", up);
    }
    if (changed) {
        free(r->status);
        r->status = xstrdup(status);
    }
    fflush(p->out);
}

void cli_progress_clear(struct cli_progress *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->rows[i].status);
    free(p->rows);
    memset(p, 0, sizeof(*p));
}
