/* berthd and berth bind libarchive, libcurl and libcrypto on first use (lazylibs.c). */
#pragma once

#include <stddef.h>

/* Loads the three libraries and looks up every function berthd takes from them, without
 * aborting: the number that cannot be had, their names written to missing (len bytes). */
int lazylibs_check(char *missing, size_t len);
