/* Status rows for pull and push. On a terminal a row is redrawn in place: the cursor goes up to
 * its line, the line is cleared and written, and the cursor comes back down, byte for byte as
 * docker's jsonmessage does it, so the two CLIs look the same in any terminal. */
#include <stdlib.h>
#include <string.h>

#include "cli/progress.h"
#include "common/cleanup.h"
#include "common/strv.h"

void cli_progress_init(struct cli_progress *p, FILE *out, bool tty)
{
    memset(p, 0, sizeof(*p));
    p->out = out;
    p->tty = tty;
}

void cli_progress_set(struct cli_progress *p, const char *id, const char *status, const char *bar)
{
    bool has_bar = bar && *bar;
    if (!p->tty) {
        if (!has_bar)
            fprintf(p->out, "%s: %s\n", id, status);
        fflush(p->out);
        return;
    }
    size_t i = 0;
    while (i < p->n && strcmp(p->ids[i], id) != 0)
        i++;
    if (i == p->n) {
        strv_append(&p->ids, id);
        p->n++;
        fputc('\n', p->out); /* the new row's line */
    }
    size_t up = p->n - i;
    fprintf(p->out, "\033[%zuA\033[2K\r%s: %s %s\r\033[%zuB", up, id, status, has_bar ? bar : "",
            up);
    fflush(p->out);
}

void cli_progress_clear(struct cli_progress *p)
{
    strv_free(p->ids);
    p->ids = NULL;
    p->n = 0;
}
