/* Go's path rules for slash-separated paths (gopath.c). Each returns a new string. */
#pragma once

/* path.Clean: "/a/./b/../c//" is "/a/c"; ".." at the root stays there; a relative path keeps
 * its leading ".."; nothing at all is ".". */
char *go_clean(const char *p);
/* filepath.Base: the last element, trailing slashes ignored; "/" for the root, "." for "". */
char *go_base(const char *p);
/* filepath.Dir: all but the last element, cleaned. */
char *go_dir(const char *p);
/* filepath.Join of two elements, cleaned; an empty element is left out. */
char *go_join(const char *a, const char *b);
