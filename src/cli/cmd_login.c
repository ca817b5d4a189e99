/* berth login / logout: credentials checked by berthd (POST /auth: the daemon is what talks to
 * registries) and kept in the client's config.json, in Docker's format; logout only edits that
 * file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "common/cleanup.h"
#include "common/xalloc.h"
#include "image/ref.h"
#include "registry/credentials.h"

/* "https://host:5000/v2/" -> "host:5000"; Docker Hub's names -> "docker.io". */
static char *server_host(const char *arg)
{
    const char *s = arg;
    if (strncmp(s, "https://", 8) == 0)
        s += 8;
    else if (strncmp(s, "http://", 7) == 0)
        s += 7;
    char *h = xstrndup(s, strcspn(s, "/"));
    if (reg_host_is_docker_hub(h)) {
        free(h);
        h = xstrdup(IMG_REF_DEFAULT_DOMAIN);
    }
    return h;
}

static char *read_line(FILE *in)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, in);
    if (n < 0) {
        free(line);
        return NULL;
    }
    line[strcspn(line, "\r\n")] = '\0';
    return line;
}

static char *prompt_secret(struct cli *cli, const char *what)
{
    fprintf(cli->out, "%s", what);
    fflush(cli->out);
    struct termios old, quiet;
    int fd = fileno(cli->in);
    bool restore = tcgetattr(fd, &old) == 0;
    if (restore) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    char *s = read_line(cli->in);
    if (restore) {
        tcsetattr(fd, TCSAFLUSH, &old);
        fputc('\n', cli->out);
    }
    return s;
}

static int run_login(struct cli *cli, int argc, char **argv)
{
    _cleanup_free_ char *host = server_host(argc > 0 ? argv[0] : IMG_REF_DEFAULT_DOMAIN);
    const char *user_flag = cli_string(cli, "username");
    const char *pass_flag = cli_string(cli, "password");
    bool pass_stdin = cli_bool(cli, "password-stdin");
    if (pass_flag[0] && pass_stdin)
        return cli_usage_error(cli, "--password and --password-stdin are mutually exclusive");
    if (pass_stdin && !user_flag[0])
        return cli_usage_error(cli, "Must provide --username with --password-stdin");
    if (pass_flag[0])
        fprintf(cli->err, "WARNING! Using --password via the CLI is insecure. Use "
                          "--password-stdin.\n");
    _cleanup_free_ char *user = user_flag[0] ? xstrdup(user_flag) : NULL;
    _cleanup_free_ char *secret = pass_flag[0] ? xstrdup(pass_flag) : NULL;
    if (pass_stdin) {
        secret = read_line(cli->in);
        if (secret == NULL)
            return cli_fail(cli, berr_new(EINVAL, "no password on standard input"));
    }
    if ((user == NULL || secret == NULL) && !cli->in_is_tty)
        return cli_fail(cli, berr_new(EINVAL, "Cannot perform an interactive login from a non "
                                              "TTY device"));
    if (user == NULL) {
        fprintf(cli->out, "Username: ");
        fflush(cli->out);
        user = read_line(cli->in);
        if (user == NULL || user[0] == '\0')
            return cli_fail(cli, berr_new(EINVAL, "Username is required"));
    }
    if (secret == NULL) {
        secret = prompt_secret(cli, "Password: ");
        if (secret == NULL || secret[0] == '\0')
            return cli_fail(cli, berr_new(EINVAL, "Password is required"));
    }
    struct berr *err = NULL;
    struct cli_api *api = cli_api_get(cli, &err);
    if (api == NULL)
        return cli_fail(cli, err);
    _cleanup_free_ char *file = cli_config_file(cli);
    _cleanup_free_ char *address = reg_credentials_key(host);
    _cleanup_json_ json_t *body = json_pack("{s:s, s:s, s:s}", "username", user, "password", secret,
                                            "serveraddress", address);
    int r = cli_api_call(api, "POST", "/auth", body, NULL, &err);
    if (r < 0)
        return cli_fail(cli, err);
    if (reg_credentials_set(file, host, user, secret, &err) < 0)
        return cli_fail(cli, err);
    fprintf(cli->out, "Login Succeeded\n");
    return 0;
}

static int run_logout(struct cli *cli, int argc, char **argv)
{
    _cleanup_free_ char *host = server_host(argc > 0 ? argv[0] : IMG_REF_DEFAULT_DOMAIN);
    _cleanup_free_ char *file = cli_config_file(cli);
    struct berr *err = NULL;
    int r = reg_credentials_remove(file, host, &err);
    if (r < 0)
        return cli_fail(cli, err);
    if (r == 1)
        fprintf(cli->out, "Not logged in to %s\n", host);
    else
        fprintf(cli->out, "Removing login credentials for %s\n", host);
    return 0;
}

static const struct cli_flag login_flags[] = {
    {"password", 'p', CLI_FLAG_STRING, "Password or Personal Access Token (PAT)"},
    {"password-stdin", 0, CLI_FLAG_BOOL,
     "Take the Password or Personal Access Token (PAT) from "
     "stdin"},
    {"username", 'u', CLI_FLAG_STRING, "Username"},
    {NULL},
};

const struct cli_command cli_cmd_login = {
    .name = "login",
    .usage = "[OPTIONS] [SERVER]",
    .short_desc = "Authenticate to a registry",
    .flags = login_flags,
    .min_args = 0,
    .max_args = 1,
    .run = run_login,
};

const struct cli_command cli_cmd_logout = {
    .name = "logout",
    .usage = "[SERVER]",
    .short_desc = "Log out from a registry",
    .min_args = 0,
    .max_args = 1,
    .run = run_logout,
};
