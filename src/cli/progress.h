/* Per-layer rows of pull and push progress, drawn as docker's jsonmessage draws them: on a
 * terminal each layer keeps one line, rewritten in place (progress bar included); elsewhere each
 * update is a line of its own, and updates that carry a progress bar are left out. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct cli_progress {
    FILE *out;
    bool tty;
    size_t n;
    char **ids; /* the rows, top to bottom */
};

void cli_progress_init(struct cli_progress *p, FILE *out, bool tty);
/* Row id's status ("Downloading") with bar (NULL or "": none): a new row the first time. On a
 * terminal the row's line becomes "ID: STATUS BAR"; elsewhere "ID: STATUS" is printed, unless
 * there is a bar. */
void cli_progress_set(struct cli_progress *p, const char *id, const char *status, const char *bar);
/* Forgets the rows: what comes next starts below them (docker does this whenever it prints a
 * line that is no layer's). Keeps out and tty. */
void cli_progress_clear(struct cli_progress *p);
