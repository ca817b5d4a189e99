/* berthd and berth bind libarchive, libcurl and libcrypto on first use (lazylibs.c). */
#pragma once

#include <stddef.h>

/* Loads the three libraries and looks up every function berthd takes from them, without
 * aborting: the number that cannot be had, their names written to missing (len bytes). */
int lazylibs_check(char *missing, size_t len);
/* Unloads what can be let go (libarchive, with none of its objects alive and no call of it
 * running; a later call loads it again). Returns how many libraries were unloaded. */
int lazylibs_release(void);
/* Live objects made by the library with that soname (-1: not one of ours); for tests. */
long lazylibs_objects(const char *soname);
