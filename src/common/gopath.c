/* Go's path and path/filepath functions for slash-separated paths (Clean, Base, Dir, Join), as
 * Docker's clients and daemon apply them to the paths of docker cp and the archive API: the same
 * answers matter for where a copy lands. */
#include "common/gopath.h"
#include "common/cleanup.h"
#include "common/xalloc.h"

#include <stdbool.h>
#include <string.h>

/* path.Clean: "/a/./b/../c//" is "/a/c"; ".." at the root stays there; a relative path keeps
 * its leading ".."; nothing at all is ".". */
char *go_clean(const char *p)
{
    size_t n = strlen(p), o = 0, dotdot = 0;
    bool rooted = p[0] == '/';
    char *out = xmalloc(n + 2);
    if (rooted)
        out[o++] = '/', dotdot = 1;
    for (size_t i = 0; i < n;) {
        if (p[i] == '/') {
            i++;
            continue;
        }
        size_t j = i;
        while (j < n && p[j] != '/')
            j++;
        size_t len = j - i;
        if (len == 2 && p[i] == '.' && p[i + 1] == '.') {
            if (o > dotdot) {
                for (o--; o > dotdot && out[o] != '/'; o--) {
                }
            } else if (!rooted) {
                if (o > 0)
                    out[o++] = '/';
                out[o++] = '.', out[o++] = '.';
                dotdot = o;
            }
        } else if (len != 1 || p[i] != '.') {
            if (o != (rooted ? 1u : 0u))
                out[o++] = '/';
            memcpy(out + o, p + i, len);
            o += len;
        }
        i = j;
    }
    if (o == 0)
        out[o++] = '.';
    out[o] = '\0';
    return out;
}

/* filepath.Base: the last element, trailing slashes ignored; "/" for the root. */
char *go_base(const char *p)
{
    size_t n = strlen(p);
    while (n > 0 && p[n - 1] == '/')
        n--;
    if (n == 0)
        return xstrdup(*p == '/' ? "/" : ".");
    size_t s = n;
    while (s > 0 && p[s - 1] != '/')
        s--;
    return xstrndup(p + s, n - s);
}

/* filepath.Dir */
char *go_dir(const char *p)
{
    const char *slash = strrchr(p, '/');
    if (slash == NULL)
        return xstrdup(".");
    _cleanup_free_ char *head = xstrndup(p, (size_t)(slash - p) + 1);
    return go_clean(head);
}

/* filepath.Join of two elements */
char *go_join(const char *a, const char *b)
{
    if (*a == '\0')
        return go_clean(b);
    if (*b == '\0')
        return go_clean(a);
    _cleanup_free_ char *j = xasprintf("%s/%s", a, b);
    return go_clean(j);
}
