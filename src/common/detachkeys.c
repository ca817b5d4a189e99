/* Detach key parsing: see detachkeys.h. */
#include "common/detachkeys.h"
#include "common/cleanup.h"
#include "common/xalloc.h"

#include <string.h>

int detach_keys_parse(const char *spec, unsigned char keys[DETACH_KEYS_MAX])
{
    if (spec == NULL || *spec == '\0')
        spec = "ctrl-p,ctrl-q";
    int n = 0;
    _cleanup_free_ char *copy = xstrdup(spec);
    char *save = NULL;
    for (char *k = strtok_r(copy, ",", &save); k != NULL; k = strtok_r(NULL, ",", &save)) {
        if (n == DETACH_KEYS_MAX)
            return -1;
        if (strncmp(k, "ctrl-", 5) == 0 && k[5] != '\0' && k[6] == '\0') {
            char c = k[5];
            if (c >= 'a' && c <= 'z')
                keys[n++] = (unsigned char)(c - 'a' + 1);
            else if (c == '@' || c == '[' || c == '\\' || c == ']' || c == '^' || c == '_')
                keys[n++] = (unsigned char)(c & 0x1f);
            else
                return -1;
        } else if (strlen(k) == 1) {
            keys[n++] = (unsigned char)k[0];
        } else {
            return -1;
        }
    }
    return n;
}
