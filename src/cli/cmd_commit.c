/* berth diff and berth commit: a container's filesystem changes (GET /containers/{id}/changes)
 * printed as docker's "C /etc" lines, and a new image made from them (POST /commit) with the
 * reference checked and split into repo and tag on this side, as the docker client does. */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/container.h"
#include "common/cleanup.h"
#include "common/xalloc.h"
#include "image/ref.h"

/* The docker client trims a container reference and refuses an empty one before any request. */
static bool blank(const char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    return *s == '\0';
}

static int empty_ref_error(struct cli *cli)
{
    return cli_fail(cli, berr_new(0, "invalid container name or ID: value is empty"));
}

/* ---- diff ---- */

static const char *kind_letter(json_t *kind)
{
    switch (json_integer_value(kind)) {
    case 0:
        return "C";
    case 1:
        return "A";
    case 2:
        return "D";
    default:
        return "?";
    }
}

static int run_diff(struct cli *cli, int argc, char **argv)
{
    (void)argc;
    struct berr *err = NULL;
    if (argv[0][0] == '\0')
        return cli_fail(cli, berr_new(0, "Container name cannot be empty"));
    if (blank(argv[0]))
        return empty_ref_error(cli);
    struct cli_api *api = cli_api_get(cli, &err);
    if (api == NULL)
        return cli_fail(cli, err);
    _cleanup_free_ char *path = cli_ctr_path(argv[0], "/changes");
    _cleanup_json_ json_t *changes = NULL;
    if (cli_api_call(api, "GET", path, NULL, &changes, &err) < 0)
        return cli_fail(cli, err);
    size_t i;
    json_t *c;
    json_array_foreach(changes, i, c)
    {
        const char *p = json_string_value(json_object_get(c, "Path"));
        fprintf(cli->out, "%s %s\n", kind_letter(json_object_get(c, "Kind")), p ? p : "");
    }
    return 0;
}

const struct cli_command cli_cmd_diff = {
    .name = "diff",
    .usage = "CONTAINER",
    .short_desc = "Inspect changes to files or directories on a container's filesystem",
    .min_args = 1,
    .max_args = 1,
    .run = run_diff,
};

/* ---- commit ---- */

/* REPOSITORY[:TAG] as the docker client sends it: the normalised repository and the tag, "latest"
 * when none is given; a digest is refused since commit can only tag. */
static int split_reference(const char *s, char **repo, char **tag, struct berr **err)
{
    _cleanup_ref_ struct img_ref *ref = NULL;
    if (img_ref_parse(s, &ref, err) < 0)
        return -1;
    if (ref->digest)
        return berr_code(err, EINVAL, "refusing to create a tag with a digest reference");
    *repo = img_ref_repo(ref);
    *tag = xstrdup(ref->tag ? ref->tag : IMG_REF_DEFAULT_TAG);
    return 0;
}

static void add_query(char **q, const char *key, const char *value)
{
    _cleanup_free_ char *e = cli_api_escape(value);
    char *next = xasprintf("%s&%s=%s", *q, key, e);
    free(*q);
    *q = next;
}

static int run_commit(struct cli *cli, int argc, char **argv)
{
    struct berr *err = NULL;
    if (blank(argv[0]))
        return empty_ref_error(cli);
    _cleanup_free_ char *repo = xstrdup(""), *tag = xstrdup("");
    if (argc > 1 && argv[1][0] != '\0') {
        free(repo);
        free(tag);
        repo = tag = NULL;
        if (split_reference(argv[1], &repo, &tag, &err) < 0)
            return cli_fail(cli, err);
    }
    _cleanup_free_ char *ectr = cli_api_escape(argv[0]);
    _cleanup_free_ char *q = xasprintf("/commit?container=%s", ectr);
    add_query(&q, "repo", repo);
    add_query(&q, "tag", tag);
    add_query(&q, "comment", cli_string(cli, "message"));
    add_query(&q, "author", cli_string(cli, "author"));
    char *const *changes = cli_list(cli, "change");
    for (size_t i = 0; changes && changes[i]; i++)
        add_query(&q, "changes", changes[i]);
    if (!cli_bool(cli, "pause"))
        add_query(&q, "pause", "0");
    struct cli_api *api = cli_api_get(cli, &err);
    if (api == NULL)
        return cli_fail(cli, err);
    _cleanup_json_ json_t *res = NULL;
    if (cli_api_call(api, "POST", q, NULL, &res, &err) < 0)
        return cli_fail(cli, err);
    const char *id = json_string_value(json_object_get(res, "Id"));
    if (id == NULL)
        return cli_fail(cli, berr_new(0, "the daemon's answer to commit has no image ID"));
    fprintf(cli->out, "%s\n", id);
    return 0;
}

static const struct cli_flag commit_flags[] = {
    {"author", 'a', CLI_FLAG_STRING,
     "Author (e.g., \"John Hannibal Smith <hannibal@a-team.com>\")"},
    {"change", 'c', CLI_FLAG_LIST, "Apply Dockerfile instruction to the created image"},
    {"message", 'm', CLI_FLAG_STRING, "Commit message"},
    {"pause", 'p', CLI_FLAG_BOOL, "Pause container during commit", "true"},
    {NULL},
};

const struct cli_command cli_cmd_commit = {
    .name = "commit",
    .usage = "[OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
    .short_desc = "Create a new image from a container's changes",
    .flags = commit_flags,
    .min_args = 1,
    .max_args = 2,
    .flags_first = true,
    .run = run_commit,
};
