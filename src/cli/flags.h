/* Command-line flags with the semantics of spf13/pflag, which the docker CLI uses: --name value,
 * --name=value, -n value, -nvalue, -n=value, combined bools (-aq), --bool=false, repeatable list
 * flags, "--" ending the flags, and flags mixed with positional arguments. The messages match
 * docker's word for word, so scripts that parse them keep working. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/err.h"

enum cli_flag_type {
    CLI_FLAG_BOOL,
    CLI_FLAG_STRING,
    CLI_FLAG_LIST,   /* repeatable; each occurrence adds one item (docker's ListOpts) */
    CLI_FLAG_INT,    /* int64, Go syntax: 10, -3, 0x1f, 0o17, 0b101, 1_000 */
    CLI_FLAG_UINT64, /* uint64, same syntax without a sign */
    CLI_FLAG_FILTER, /* a list whose items must read name=value (docker's --filter) */
};

/* One entry of a flag table; a table ends with an entry whose name is NULL. Tables are static
 * data: a command declares them once, the parser never writes to them. */
struct cli_flag {
    const char *name; /* long name, without "--" */
    char shorthand;   /* one-letter name, 0 for none */
    enum cli_flag_type type;
    const char *usage;   /* help text; may contain '\n' */
    const char *def;     /* default, written as on the command line; NULL: false, "", 0, empty */
    const char *varname; /* the word after the flag in help; NULL: "string", "list", "int"... */
    bool hidden;         /* accepted but not listed in help */
};

/* The values parsed for one flag table. Every table implicitly has a hidden bool "help" flag,
 * with shorthand 'h' unless the table uses 'h' itself. */
struct cli_flagset;

/* table must outlive the set. Defaults are applied here; an invalid default aborts (a bug). */
struct cli_flagset *cli_flagset_new(const struct cli_flag *table);
void cli_flagset_free(struct cli_flagset *fs);
void cli_flagset_freep(struct cli_flagset **fs);

/* Parse argv[0..argc) (no program or command name in front). With interspersed, positional
 * arguments and flags may come in any order (docker's default); without it, the first
 * positional argument ends the flags (docker run, and the top level). Values and positional
 * arguments borrow argv's strings. On error *err holds docker's one-line message, e.g.
 * "unknown flag: --x", "unknown shorthand flag: 'x' in -x", "flag needs an argument: --x". */
int cli_flagset_parse(struct cli_flagset *fs, int argc, char **argv, bool interspersed,
                      struct berr **err);
/* Positional arguments of the last parse, NULL-terminated; owned by the set. */
int cli_flagset_nargs(const struct cli_flagset *fs);
char **cli_flagset_args(const struct cli_flagset *fs);

/* Typed lookups by long name. Asking for a name that is not in the table, or with the wrong
 * type, is a bug and aborts. Strings are borrowed (from argv or the table); lists (also those
 * of CLI_FLAG_FILTER) belong to the set. */
bool cli_flagset_bool(const struct cli_flagset *fs, const char *name);
const char *cli_flagset_string(const struct cli_flagset *fs, const char *name); /* never NULL */
char *const *cli_flagset_list(const struct cli_flagset *fs, const char *name);  /* NULL-ended */
int64_t cli_flagset_int(const struct cli_flagset *fs, const char *name);
uint64_t cli_flagset_uint64(const struct cli_flagset *fs, const char *name);
/* Whether the flag was given on the command line (as opposed to its default). */
bool cli_flagset_changed(const struct cli_flagset *fs, const char *name);

/* The "Options:" body of a help text, as pflag's FlagUsagesWrapped prints it: sorted by name,
 * hidden flags left out, descriptions wrapped to cols columns (0: no wrapping). Returns a new
 * string (every line ends in '\n'), or "" when there is nothing to list. */
char *cli_flags_usage(const struct cli_flag *table, int cols);

/* Go's strconv.ParseBool / ParseInt(s, 0, 64) / ParseUint(s, 0, 64): 0, or -1 with *why set
 * to "invalid syntax" or "value out of range". */
int cli_parse_go_bool(const char *s, bool *out);
int cli_parse_go_int(const char *s, int64_t *out, const char **why);
int cli_parse_go_uint(const char *s, uint64_t *out, const char **why);
