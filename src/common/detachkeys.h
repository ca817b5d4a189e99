/* Docker's detach key syntax, shared by berthd (which detaches) and the CLI (which checks the
 * flag and notices the keys). */
#pragma once

#define DETACH_KEYS_MAX 16

/* Parses a comma-separated list of "ctrl-X" (a-z, @, [, \, ], ^, _) or single characters into
 * keys; NULL or "" means Docker's default, ctrl-p,ctrl-q. Returns the number of keys, or -1
 * when spec is not valid. */
int detach_keys_parse(const char *spec, unsigned char keys[DETACH_KEYS_MAX]);
