/* Per-layer status lines for pull and push, as docker prints them: on a terminal each layer
 * keeps one line, rewritten in place (progress bars included); otherwise each change of status
 * is a new line and progress updates are left out. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct cli_progress_row;

struct cli_progress {
    FILE *out;
    bool tty;
    size_t n;
    struct cli_progress_row *rows;
};

void cli_progress_init(struct cli_progress *p, FILE *out, bool tty);
/* Sets the status of row id (a new row the first time). bar is NULL or the text of a progress
 * bar, shown only on a terminal. */
void cli_progress_set(struct cli_progress *p, const char *id, const char *status, const char *bar);
void cli_progress_clear(struct cli_progress *p);
