#include <regex.h>
#include <string.h>

#include "common/filters.h"

bool filter_has(json_t *vals, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(vals, i, v)
    {
        const char *want = json_string_value(v);
        if (want != NULL && strcmp(want, s) == 0)
            return true;
    }
    return false;
}

bool filter_regex(const char *pattern, const char *s)
{
    regex_t re;
    if (pattern == NULL || regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
        return false;
    bool ok = regexec(&re, s, 0, NULL, 0) == 0;
    regfree(&re);
    return ok;
}

bool filter_any_regex(json_t *vals, const char *s)
{
    if (filter_has(vals, s))
        return true;
    size_t i;
    json_t *v;
    json_array_foreach(vals, i, v)
    {
        if (filter_regex(json_string_value(v), s))
            return true;
    }
    return false;
}
