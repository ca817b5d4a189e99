/* String vector helpers. */
#include "common/strv.h"
#include "common/cleanup.h"
#include "common/xalloc.h"

#include <string.h>

void strv_free(char **v)
{
    if (v == NULL)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

size_t strv_length(char *const *v)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    return n;
}

char **strv_dup(char *const *v)
{
    size_t n = strv_length(v);
    char **r = xcalloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        r[i] = xstrdup(v[i]);
    return r;
}

void strv_append(char ***v, const char *s)
{
    size_t n = strv_length(*v);
    *v = xreallocarray(*v, n + 2, sizeof(char *));
    (*v)[n] = xstrdup(s);
    (*v)[n + 1] = NULL;
}

bool strv_contains(char *const *v, const char *s)
{
    for (size_t i = 0; v && v[i]; i++)
        if (strcmp(v[i], s) == 0)
            return true;
    return false;
}

void strv_env_set(char ***v, const char *kv)
{
    const char *eq = strchr(kv, '=');
    size_t klen = eq ? (size_t)(eq - kv) : strlen(kv);
    for (size_t i = 0; *v && (*v)[i]; i++) {
        if (strncmp((*v)[i], kv, klen) == 0 && ((*v)[i][klen] == '=' || (*v)[i][klen] == 0)) {
            free((*v)[i]);
            (*v)[i] = xstrdup(kv);
            return;
        }
    }
    strv_append(v, kv);
}
