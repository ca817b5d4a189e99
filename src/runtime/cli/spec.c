/* `spec`: write a starting config.json for a bundle (a busybox-style shell with a read-only
 * root, the usual mounts and namespaces); --rootless adapts it for an unprivileged user. */
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/xalloc.h"
#include "runtime/cli/cli.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char default_spec[] =
    "{\"ociVersion\":\"1.2.0\","
    "\"process\":{\"terminal\":true,\"user\":{\"uid\":0,\"gid\":0},\"args\":[\"sh\"],"
    "\"env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\","
    "\"TERM=xterm\"],\"cwd\":\"/\","
    "\"capabilities\":{"
    "\"bounding\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"],"
    "\"effective\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"],"
    "\"permitted\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"],"
    "\"ambient\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"]},"
    "\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":1024,\"soft\":1024}],"
    "\"noNewPrivileges\":true},"
    "\"root\":{\"path\":\"rootfs\",\"readonly\":true},"
    "\"hostname\":\"berth\","
    "\"mounts\":["
    "{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
    "{\"destination\":\"/dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\","
    "\"options\":[\"nosuid\",\"strictatime\",\"mode=755\",\"size=65536k\"]},"
    "{\"destination\":\"/dev/pts\",\"type\":\"devpts\",\"source\":\"devpts\","
    "\"options\":[\"nosuid\",\"noexec\",\"newinstance\",\"ptmxmode=0666\",\"mode=0620\","
    "\"gid=5\"]},"
    "{\"destination\":\"/dev/shm\",\"type\":\"tmpfs\",\"source\":\"shm\","
    "\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"mode=1777\",\"size=65536k\"]},"
    "{\"destination\":\"/dev/mqueue\",\"type\":\"mqueue\",\"source\":\"mqueue\","
    "\"options\":[\"nosuid\",\"noexec\",\"nodev\"]},"
    "{\"destination\":\"/sys\",\"type\":\"sysfs\",\"source\":\"sysfs\","
    "\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"ro\"]},"
    "{\"destination\":\"/sys/fs/cgroup\",\"type\":\"cgroup\",\"source\":\"cgroup\","
    "\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"relatime\",\"ro\"]}],"
    "\"linux\":{\"resources\":{\"devices\":[{\"allow\":false,\"access\":\"rwm\"}]},"
    "\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\"},{\"type\":\"ipc\"},"
    "{\"type\":\"uts\"},{\"type\":\"mount\"},{\"type\":\"cgroup\"}],"
    "\"maskedPaths\":[\"/proc/acpi\",\"/proc/asound\",\"/proc/kcore\",\"/proc/keys\","
    "\"/proc/latency_stats\",\"/proc/timer_list\",\"/proc/timer_stats\",\"/proc/sched_debug\","
    "\"/sys/firmware\",\"/proc/scsi\"],"
    "\"readonlyPaths\":[\"/proc/bus\",\"/proc/fs\",\"/proc/irq\",\"/proc/sys\","
    "\"/proc/sysrq-trigger\"]}}";

/* Unprivileged: map the caller to root in a user namespace, share the host network (a new one
 * would have no connectivity), bind /sys instead of mounting it, and drop what needs root. */
static void make_rootless(json_t *spec)
{
    json_t *lx = json_object_get(spec, "linux");
    json_object_del(lx, "resources");
    json_t *ns = json_object_get(lx, "namespaces");
    for (size_t i = json_array_size(ns); i-- > 0;) {
        const char *t = json_string_value(json_object_get(json_array_get(ns, i), "type"));
        if (t && strcmp(t, "network") == 0)
            json_array_remove(ns, i);
    }
    json_array_append_new(ns, json_pack("{s:s}", "type", "user"));
    json_object_set_new(lx, "uidMappings",
                        json_pack("[{s:i,s:i,s:i}]", "containerID", 0, "hostID", (int)getuid(),
                                  "size", 1));
    json_object_set_new(lx, "gidMappings",
                        json_pack("[{s:i,s:i,s:i}]", "containerID", 0, "hostID", (int)getgid(),
                                  "size", 1));
    json_t *mounts = json_object_get(spec, "mounts");
    size_t i;
    json_t *m;
    json_array_foreach(mounts, i, m)
    {
        const char *dst = json_string_value(json_object_get(m, "destination"));
        if (dst && strcmp(dst, "/sys") == 0) {
            json_object_set_new(m, "type", json_string("none"));
            json_object_set_new(m, "source", json_string("/sys"));
            json_object_set_new(m, "options",
                                json_pack("[s,s,s,s,s]", "rbind", "nosuid", "noexec", "nodev",
                                          "ro"));
        }
        json_t *opts = json_object_get(m, "options");
        for (size_t k = json_array_size(opts); k-- > 0;) {
            const char *o = json_string_value(json_array_get(opts, k));
            if (o && strncmp(o, "gid=", 4) == 0)
                json_array_remove(opts, k);
        }
    }
    for (i = json_array_size(mounts); i-- > 0;) {
        const char *t = json_string_value(json_object_get(json_array_get(mounts, i), "type"));
        if (t && strcmp(t, "cgroup") == 0)
            json_array_remove(mounts, i);
    }
}

int cmd_spec(struct cli_globals *g, int argc, char **argv)
{
    const char *bundle = ".";
    bool rootless = false, help = false;
    const struct cli_flag flags[] = {
        {"bundle", 'b', FLAG_STRING, &bundle},
        {"rootless", 0, FLAG_BOOL, &rootless},
        {"help", 'h', FLAG_BOOL, &help},
        {NULL, 0, 0, NULL},
    };
    int nrest;
    char **rest;
    struct berr *err = NULL;
    if (cli_parse(argc, argv, flags, &nrest, &rest, &err) < 0)
        return cli_fail(err);
    if (help) {
        printf("usage: berth-runc spec [--bundle DIR] [--rootless]\n");
        return 0;
    }
    if (nrest != 0)
        return cli_usage_error("spec", "takes no arguments");
    _cleanup_free_ char *path = xasprintf("%s/config.json", bundle);
    if (access(path, F_OK) == 0)
        return cli_fail(berr_new(EEXIST, "%s already exists; remove it first", path));
    json_error_t jerr;
    _cleanup_json_ json_t *spec = json_loads(default_spec, 0, &jerr);
    if (rootless)
        make_rootless(spec);
    _cleanup_free_ char *text = json_dumps(spec, JSON_INDENT(2));
    size_t len = strlen(text);
    text[len] = '\n';
    if (write_file_at(AT_FDCWD, path, text, len + 1, 0644, &err) < 0) {
        text[len] = 0;
        return cli_fail(err);
    }
    text[len] = 0;
    return 0;
}
