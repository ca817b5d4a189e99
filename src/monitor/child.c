/* Running the runtime: bounded waits, and the error message a failed command leaves in its
 * JSON log (runc's logrus format). Starting it is common/process.h's spawn_process: explicit
 * stdio and a clean signal state (the monitor blocks and ignores signals that must not leak into
 * the container). */
#include "monitor/child.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/xalloc.h"

#include <ctype.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

/* Only the end of a runtime's log matters, and a debug log can be large. */
#define LOG_TAIL 65536

int mon_wait_child(pid_t pid, int timeout_ms)
{
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    struct timespec end;
    clock_gettime(CLOCK_MONOTONIC, &end);
    end.tv_sec += timeout_ms / 1000;
    end.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
    bool killed = false;
    for (;;) {
        int status;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return status;
        if (r < 0 && errno != EINTR)
            return -1;
        struct timespec now, left;
        clock_gettime(CLOCK_MONOTONIC, &now);
        left.tv_sec = end.tv_sec - now.tv_sec;
        left.tv_nsec = end.tv_nsec - now.tv_nsec;
        if (left.tv_nsec < 0) {
            left.tv_nsec += 1000000000;
            left.tv_sec--;
        }
        if (left.tv_sec < 0) {
            if (killed)
                left = (struct timespec){1, 0};
            else {
                kill(pid, SIGKILL);
                killed = true;
                continue;
            }
        }
        /* Another child's SIGCHLD wakes this too; the loop simply checks again. */
        sigtimedwait(&chld, NULL, &left);
    }
}

int mon_exit_code(int status)
{
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

/* ---- just enough JSON to read one flat log line ---- */

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\r')
        p++;
    return p;
}

static void put_utf8(char **d, unsigned cp)
{
    char *o = *d;
    if (cp < 0x80) {
        *o++ = (char)cp;
    } else if (cp < 0x800) {
        *o++ = (char)(0xc0 | cp >> 6);
        *o++ = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        *o++ = (char)(0xe0 | cp >> 12);
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
        *o++ = (char)(0x80 | (cp & 0x3f));
    } else {
        *o++ = (char)(0xf0 | cp >> 18);
        *o++ = (char)(0x80 | ((cp >> 12) & 0x3f));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
        *o++ = (char)(0x80 | (cp & 0x3f));
    }
    *d = o;
}

static bool hex4(const char *p, unsigned *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++) {
        if (!isxdigit((unsigned char)p[i]))
            return false;
        *v = *v << 4 |
             (unsigned)(isdigit((unsigned char)p[i]) ? p[i] - '0' : (tolower(p[i]) - 'a' + 10));
    }
    return true;
}

/* Decode the string literal at *pp (at its opening quote) into out (at least as long as the
 * line); returns false on malformed input. */
static bool parse_string(const char **pp, char *out)
{
    const char *p = *pp + 1;
    char *d = out;
    while (*p != '"') {
        if (*p == '\0' || *p == '\n')
            return false;
        if (*p != '\\') {
            *d++ = *p++;
            continue;
        }
        p++;
        char c = *p++;
        switch (c) {
        case 'n':
            *d++ = '\n';
            break;
        case 't':
            *d++ = '\t';
            break;
        case 'r':
            *d++ = '\r';
            break;
        case 'b':
            *d++ = '\b';
            break;
        case 'f':
            *d++ = '\f';
            break;
        case '"':
        case '\\':
        case '/':
            *d++ = c;
            break;
        case 'u': {
            unsigned cp, lo;
            if (!hex4(p, &cp))
                return false;
            p += 4;
            if (cp >= 0xd800 && cp < 0xdc00 && p[0] == '\\' && p[1] == 'u' && hex4(p + 2, &lo) &&
                lo >= 0xdc00 && lo < 0xe000) {
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                p += 6;
            } else if (cp >= 0xd800 && cp < 0xe000) {
                cp = 0xfffd;
            }
            put_utf8(&d, cp);
            break;
        }
        default:
            return false;
        }
    }
    *d = '\0';
    *pp = p + 1;
    return true;
}

/* Skip a non-string value (number, literal, nested object or array). */
static const char *skip_value(const char *p)
{
    int depth = 0;
    for (; *p && *p != '\n'; p++) {
        if (*p == '"') {
            for (p++; *p && *p != '"'; p++)
                if (*p == '\\' && p[1])
                    p++;
            if (!*p)
                return p;
        } else if (*p == '{' || *p == '[') {
            depth++;
        } else if (*p == '}' || *p == ']') {
            if (depth == 0)
                return p;
            depth--;
        } else if (*p == ',' && depth == 0) {
            return p;
        }
    }
    return p;
}

/* If line is an object with "level":"error", return its "msg" (caller frees). */
static char *error_msg_of(const char *line, size_t len)
{
    const char *p = skip_ws(line);
    if (*p != '{')
        return NULL;
    _cleanup_free_ char *key = xmalloc(len + 1);
    _cleanup_free_ char *val = xmalloc(len * 4 + 1);
    _cleanup_free_ char *msg = NULL;
    bool is_error = false;
    p = skip_ws(p + 1);
    while (*p == '"') {
        if (!parse_string(&p, key))
            return NULL;
        p = skip_ws(p);
        if (*p++ != ':')
            return NULL;
        p = skip_ws(p);
        if (*p == '"') {
            if (!parse_string(&p, val))
                return NULL;
            if (strcmp(key, "level") == 0)
                is_error = strcmp(val, "error") == 0 || strcmp(val, "fatal") == 0;
            else if (strcmp(key, "msg") == 0) {
                free(msg);
                msg = xstrdup(val);
            }
        } else {
            p = skip_value(p);
        }
        p = skip_ws(p);
        if (*p != ',')
            break;
        p = skip_ws(p + 1);
    }
    return is_error && msg && *msg ? steal_ptr(&msg) : NULL;
}

static char *last_logged_error(const char *log_path)
{
    _cleanup_close_ int fd = open(log_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return NULL;
    off_t end = lseek(fd, 0, SEEK_END);
    if (end < 0 || lseek(fd, end > LOG_TAIL ? end - LOG_TAIL : 0, SEEK_SET) < 0)
        return NULL;
    _cleanup_free_ char *text = xmalloc(LOG_TAIL + 1);
    ssize_t n = read_all(fd, text, LOG_TAIL);
    if (n <= 0)
        return NULL;
    text[n] = '\0';
    char *found = NULL;
    for (char *line = text, *next; line && *line; line = next) {
        char *nl = strchr(line, '\n');
        next = nl ? nl + 1 : NULL;
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        if (nl)
            *nl = '\0';
        char *msg = error_msg_of(line, len);
        if (msg) {
            free(found);
            found = msg;
        }
    }
    return found;
}

static char *trimmed(const char *s, size_t len)
{
    while (len > 0 && isspace((unsigned char)*s)) {
        s++;
        len--;
    }
    while (len > 0 && isspace((unsigned char)s[len - 1]))
        len--;
    return len > 0 ? xstrndup(s, len) : NULL;
}

char *mon_runtime_error(const char *log_path, const char *err_text, size_t err_len, int status)
{
    char *msg = log_path ? last_logged_error(log_path) : NULL;
    if (msg == NULL && err_text)
        msg = trimmed(err_text, err_len);
    if (msg)
        return msg;
    if (WIFSIGNALED(status))
        return xasprintf("runtime was killed by signal %d", WTERMSIG(status));
    return xasprintf("runtime exited with status %d", WEXITSTATUS(status));
}
