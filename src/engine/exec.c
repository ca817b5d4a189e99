/* Exec sessions: a process run in a running container with `berth-runc exec`, its stdio as
 * pipes or a pty handed over a console socket. The daemon owns the session (it ends with the
 * daemon, unlike the container); its exit code is kept for inspect until the container goes. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/process.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "common/unixsock.h"
#include "engine/engine_internal.h"
#include "engine/userdb.h"

struct eng_exec {
    char id[65];
    char ctr_id[65];
    json_t *config; /* the create request */
    bool running, started;
    int exit_code;
    pid_t pid;
    int pty_master; /* -1 unless tty and running */
    struct eng_exec *next;
};

static struct eng_exec *exec_find(struct eng *e, const char *id)
{
    for (struct eng_exec *x = e->execs; x != NULL; x = x->next)
        if (strcmp(x->id, id) == 0)
            return x;
    return NULL;
}

/* Docker's event action for an exec: "exec_start: sh -c date". */
static char *exec_action(const char *verb, json_t *cmd)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f == NULL)
        abort();
    fprintf(f, "%s:", verb);
    size_t i;
    json_t *x;
    json_array_foreach(cmd, i, x) fprintf(f, " %s", json_string_value(x));
    if (fclose(f) != 0)
        abort();
    return buf;
}

int eng_exec_create(struct eng *e, const char *ref, json_t *body, char *id_out, struct berr **err)
{
    json_t *cmd = json_object_get(body, "Cmd");
    if (!json_is_array(cmd) || json_array_size(cmd) == 0)
        return berr_code(err, EINVAL, "No exec command specified");
    size_t i;
    json_t *x;
    json_array_foreach(cmd, i, x)
    {
        if (!json_is_string(x))
            return berr_code(err, EINVAL, "exec Cmd[%zu]: expected a string", i);
    }
    struct ctr *c = eng_get(e, ref, err);
    if (c == NULL)
        return -1;
    pthread_mutex_lock(&e->mu);
    const char *st = ctr_status(c);
    int rc = 0;
    if (strcmp(st, "paused") == 0)
        rc = berr_code(err, EBUSY, "Container %s is paused, unpause the container before exec",
                       c->id);
    else if (strcmp(st, "running") != 0)
        rc = berr_code(err, EBUSY, "Container %s is not running", c->id);
    if (rc == 0) {
        struct eng_exec *ex = xcalloc(1, sizeof(*ex));
        unsigned char r[32];
        if (getrandom(r, sizeof(r), 0) != sizeof(r))
            abort();
        for (size_t k = 0; k < 32; k++)
            sprintf(ex->id + 2 * k, "%02x", r[k]);
        memcpy(ex->ctr_id, c->id, 65);
        ex->config = json_deep_copy(body);
        ex->pty_master = -1;
        ex->next = e->execs;
        e->execs = ex;
        memcpy(id_out, ex->id, 65);
        json_t *ids = json_object_get(c->rec, "ExecIDs");
        if (!json_is_array(ids)) {
            ids = json_array();
            json_object_set_new(c->rec, "ExecIDs", ids);
        }
        json_array_append_new(ids, json_string(ex->id));
    }
    pthread_mutex_unlock(&e->mu);
    if (rc == 0) {
        _cleanup_free_ char *action = exec_action("exec_create", cmd);
        eng_event(e, c, action, json_pack("{s:s}", "execID", id_out));
    }
    ctr_unref(e, c);
    return rc;
}

/* The process object for `berth-runc exec --process`: the container's own (capabilities,
 * rlimits, seccomp stay) with the exec's command, env, cwd, user and terminal. */
static json_t *exec_process(struct eng *e, struct eng_exec *ex, struct berr **err)
{
    _cleanup_free_ char *cfg = xasprintf("%s/containers/%s/config.json", e->exec_root, ex->ctr_id);
    json_error_t je;
    _cleanup_json_ json_t *spec = json_load_file(cfg, 0, &je);
    if (spec == NULL)
        return berr_code(err, EIO, "container %s: its spec: %s", ex->ctr_id, je.text), NULL;
    json_t *proc = json_deep_copy(json_object_get(spec, "process"));
    if (proc == NULL)
        proc = json_object();
    json_t *b = ex->config;
    json_object_set(proc, "args", json_object_get(b, "Cmd"));
    json_object_set_new(proc, "terminal", json_boolean(json_is_true(json_object_get(b, "Tty"))));
    json_t *env = json_object_get(proc, "env");
    if (!json_is_array(env)) {
        env = json_array();
        json_object_set_new(proc, "env", env);
    }
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(b, "Env"), i, x)
    {
        const char *kv = json_string_value(x);
        if (kv == NULL)
            continue;
        const char *eq = strchr(kv, '=');
        size_t klen = eq != NULL ? (size_t)(eq - kv) : strlen(kv);
        for (size_t k = 0; k < json_array_size(env); k++) {
            const char *old = json_string_value(json_array_get(env, k));
            if (old != NULL && strncmp(old, kv, klen) == 0 && old[klen] == '=') {
                json_array_remove(env, k);
                break;
            }
        }
        json_array_append(env, x);
    }
    if (json_is_true(json_object_get(b, "Tty"))) {
        bool has_term = false;
        json_array_foreach(env, i, x) has_term |= strncmp(json_string_value(x), "TERM=", 5) == 0;
        if (!has_term)
            json_array_append_new(env, json_string("TERM=xterm"));
    }
    const char *wd = json_string_value(json_object_get(b, "WorkingDir"));
    if (wd != NULL && *wd != '\0')
        json_object_set_new(proc, "cwd", json_string(wd));
    const char *user = json_string_value(json_object_get(b, "User"));
    if (user != NULL && *user != '\0') {
        _cleanup_free_ char *rootfs = xasprintf("%s/%s/rootfs", e->ctr_dir, ex->ctr_id);
        _cleanup_close_ int rfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        struct eng_user u = {0};
        if (rfd < 0 || eng_user_resolve(rfd, user, NULL, &u, err) < 0) {
            json_decref(proc);
            if (rfd < 0)
                berr_sys(err, "open %s", rootfs);
            return NULL;
        }
        json_t *gids = json_array();
        for (size_t k = 0; k < u.n_gids; k++)
            json_array_append_new(gids, json_integer(u.gids[k]));
        json_object_set_new(proc, "user",
                            json_pack("{s:i, s:i, s:o}", "uid", (int)u.uid, "gid", (int)u.gid,
                                      "additionalGids", gids));
        eng_user_clear(&u);
    }
    if (json_is_true(json_object_get(b, "Privileged"))) {
        /* every capability the container's bounding set has */
        json_t *caps = json_object_get(proc, "capabilities");
        json_t *bounding = json_object_get(caps, "bounding");
        if (json_is_array(bounding)) {
            json_object_set(caps, "effective", bounding);
            json_object_set(caps, "permitted", bounding);
            json_object_set(caps, "inheritable", bounding);
        }
    }
    return proc;
}

/* Receives the pty master the runtime sends over the console socket. */
static int recv_master(int listener)
{
    struct pollfd p = {.fd = listener, .events = POLLIN};
    if (poll(&p, 1, 30000) <= 0)
        return -1;
    _cleanup_close_ int conn = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
    if (conn < 0)
        return -1;
    char name[256];
    char cbuf[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {.iov_base = name, .iov_len = sizeof(name)};
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
    if (recvmsg(conn, &msg, MSG_CMSG_CLOEXEC) < 0)
        return -1;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    if (cm == NULL || cm->cmsg_type != SCM_RIGHTS)
        return -1;
    int fd;
    memcpy(&fd, CMSG_DATA(cm), sizeof(fd));
    return fd;
}

int eng_exec_start(struct eng *e, const char *exec_id, bool detach, struct eng_exec_io *io,
                   struct berr **err)
{
    io->in = io->out = io->err = io->pty = -1;
    io->pid = 0;
    pthread_mutex_lock(&e->mu);
    struct eng_exec *ex = exec_find(e, exec_id);
    if (ex == NULL) {
        pthread_mutex_unlock(&e->mu);
        return berr_code(err, ENOENT, "No such exec instance: %s", exec_id);
    }
    if (ex->started) {
        pthread_mutex_unlock(&e->mu);
        return berr_code(err, EBUSY, "Exec %s is already running", exec_id);
    }
    ex->started = true;
    bool tty = json_is_true(json_object_get(ex->config, "Tty"));
    bool want_in = json_is_true(json_object_get(ex->config, "AttachStdin"));
    pthread_mutex_unlock(&e->mu);
    io->tty = tty;

    _cleanup_json_ json_t *proc = exec_process(e, ex, err);
    if (proc == NULL)
        return -1;
    _cleanup_free_ char *dir = xasprintf("%s/containers/%s", e->exec_root, ex->ctr_id);
    _cleanup_free_ char *pfile = xasprintf("%s/exec-%.16s.json", dir, ex->id);
    _cleanup_free_ char *sock = xasprintf("%s/exec-%.16s.sock", dir, ex->id);
    if (json_dump_file(proc, pfile, JSON_COMPACT) < 0)
        return berr_sys(err, "write %s", pfile);
    _cleanup_close_ int listener = -1;
    if (tty) {
        listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (listener < 0)
            return berr_sys(err, "console socket %s", sock);
        if (unix_bind(listener, sock, err) < 0)
            return berr_wrap(err, "console socket");
        if (listen(listener, 1) < 0)
            return berr_sys(err, "console socket %s", sock);
    }
    int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1};
    if (!tty && !detach) {
        if ((want_in && pipe2(pin, O_CLOEXEC) < 0) || pipe2(pout, O_CLOEXEC) < 0 ||
            pipe2(perr, O_CLOEXEC) < 0)
            return berr_sys(err, "pipe");
    }
    const char *argv[16];
    size_t n = 0;
    argv[n++] = e->runtime;
    argv[n++] = "--root";
    argv[n++] = e->runtime_root;
    argv[n++] = "exec";
    argv[n++] = "--process";
    argv[n++] = pfile;
    if (tty) {
        argv[n++] = "--console-socket";
        argv[n++] = sock;
    }
    if (detach)
        argv[n++] = "--detach";
    argv[n++] = ex->ctr_id;
    argv[n] = NULL;
    const int fds[3] = {pin[0], pout[1], perr[1]};
    struct eng_rt_copy *held;
    const char *path = eng_runtime_acquire(e, &held);
    pid_t pid = spawn_process_path(path, (char *const *)argv, fds, 3, false, err);
    eng_runtime_release(e, held);
    if (pid < 0) {
        for (int k = 0; k < 2; k++) {
            closep(&pin[k]);
            closep(&pout[k]);
            closep(&perr[k]);
        }
        return -1;
    }
    if (pin[0] >= 0)
        close(pin[0]);
    if (pout[1] >= 0)
        close(pout[1]);
    if (perr[1] >= 0)
        close(perr[1]);
    io->in = pin[1];
    io->out = pout[0];
    io->err = perr[0];
    io->pid = pid;
    if (tty) {
        io->pty = recv_master(listener);
        unlink(sock);
        if (io->pty < 0) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            return berr_code(err, EIO, "exec %s: the runtime sent no terminal", exec_id);
        }
        if (detach) {
            /* nobody will read it: the terminal stays open in the process */
            close(io->pty);
            io->pty = -1;
        }
    }
    pthread_mutex_lock(&e->mu);
    ex->running = true;
    ex->pid = pid;
    ex->pty_master = io->pty >= 0 ? dup(io->pty) : -1;
    _cleanup_free_ char *action = exec_action("exec_start", json_object_get(ex->config, "Cmd"));
    char ctr_id[65];
    memcpy(ctr_id, ex->ctr_id, sizeof(ctr_id));
    pthread_mutex_unlock(&e->mu);
    struct ctr *c = eng_get(e, ctr_id, NULL);
    if (c != NULL) {
        eng_event(e, c, action, json_pack("{s:s}", "execID", exec_id));
        ctr_unref(e, c);
    }
    return 0;
}

int eng_exec_finish(struct eng *e, const char *exec_id, pid_t pid)
{
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    pthread_mutex_lock(&e->mu);
    struct eng_exec *ex = exec_find(e, exec_id);
    char ctr_id[65] = "";
    if (ex != NULL) {
        ex->running = false;
        ex->exit_code = code;
        if (ex->pty_master >= 0)
            close(ex->pty_master);
        ex->pty_master = -1;
        memcpy(ctr_id, ex->ctr_id, 65);
    }
    pthread_mutex_unlock(&e->mu);
    if (ex != NULL) {
        _cleanup_free_ char *pfile =
            xasprintf("%s/containers/%s/exec-%.16s.json", e->exec_root, ctr_id, exec_id);
        unlink(pfile);
        struct ctr *c = eng_get(e, ctr_id, NULL);
        if (c != NULL) {
            char codebuf[16];
            snprintf(codebuf, sizeof(codebuf), "%d", code);
            eng_event(e, c, "exec_die",
                      json_pack("{s:s, s:s}", "execID", exec_id, "exitCode", codebuf));
            ctr_unref(e, c);
        }
    }
    return code;
}

json_t *eng_exec_inspect(struct eng *e, const char *exec_id, struct berr **err)
{
    pthread_mutex_lock(&e->mu);
    struct eng_exec *ex = exec_find(e, exec_id);
    if (ex == NULL) {
        pthread_mutex_unlock(&e->mu);
        return berr_code(err, ENOENT, "No such exec instance: %s", exec_id), NULL;
    }
    json_t *b = ex->config;
    json_t *cmd = json_object_get(b, "Cmd");
    json_t *args = json_deep_copy(cmd);
    json_array_remove(args, 0);
    json_t *out = json_pack(
        "{s:s, s:b, s:o, s:s, s:b, s:b, s:b, s:b, s:{s:O, s:o, s:b, s:b, s:s}, s:s, s:i}", "ID",
        ex->id, "Running", ex->running, "ExitCode",
        ex->started && !ex->running ? json_integer(ex->exit_code) : json_null(), "ContainerID",
        ex->ctr_id, "OpenStdin", json_is_true(json_object_get(b, "AttachStdin")), "OpenStderr",
        json_is_true(json_object_get(b, "AttachStderr")), "OpenStdout",
        json_is_true(json_object_get(b, "AttachStdout")), "CanRemove", 0, "ProcessConfig",
        "entrypoint", json_array_get(cmd, 0), "arguments", args, "tty",
        json_is_true(json_object_get(b, "Tty")), "privileged",
        json_is_true(json_object_get(b, "Privileged")), "user",
        json_string_value(json_object_get(b, "User")) ?: "", "DetachKeys",
        json_string_value(json_object_get(b, "DetachKeys")) ?: "", "Pid", (int)ex->pid);
    pthread_mutex_unlock(&e->mu);
    return out;
}

int eng_exec_resize(struct eng *e, const char *exec_id, int h, int w, struct berr **err)
{
    pthread_mutex_lock(&e->mu);
    struct eng_exec *ex = exec_find(e, exec_id);
    int rc = 0;
    if (ex == NULL)
        rc = berr_code(err, ENOENT, "No such exec instance: %s", exec_id);
    else if (ex->pty_master >= 0) {
        struct winsize ws = {.ws_row = (unsigned short)h, .ws_col = (unsigned short)w};
        if (ioctl(ex->pty_master, TIOCSWINSZ, &ws) < 0)
            rc = berr_sys(err, "resize exec %s", exec_id);
    }
    pthread_mutex_unlock(&e->mu);
    return rc;
}

/* Unlinks and frees the finished sessions that match. Under e->mu. */
static void exec_drop(struct eng *e, const char *ctr_id, const char *exec_id)
{
    for (struct eng_exec **pp = &e->execs; *pp != NULL;) {
        struct eng_exec *x = *pp;
        if ((ctr_id == NULL || strcmp(x->ctr_id, ctr_id) == 0) &&
            (exec_id == NULL || strcmp(x->id, exec_id) == 0) && !x->running) {
            *pp = x->next;
            json_decref(x->config);
            free(x);
        } else {
            pp = &x->next;
        }
    }
}

void eng_exec_forget(struct eng *e, const char *ctr_id)
{
    exec_drop(e, ctr_id, NULL);
}

void eng_exec_release(struct eng *e, const char *exec_id)
{
    pthread_mutex_lock(&e->mu);
    exec_drop(e, NULL, exec_id);
    pthread_mutex_unlock(&e->mu);
}
