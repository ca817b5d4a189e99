/* `features`: the runtime-spec features document, built from what each module supports. */
#include "common/cleanup.h"
#include "runtime/caps.h"
#include "runtime/cgroup.h"
#include "runtime/cli/cli.h"
#include "runtime/rootfs.h"
#include "runtime/seccomp.h"
#include "runtime/spec.h"
#include "runtime/state.h"

#include <stdio.h>

int cmd_features(struct cli_globals *g, int argc, char **argv)
{
    _cleanup_json_ json_t *f = json_object();
    json_object_set_new(f, "ociVersionMin", json_string("1.0.0"));
    json_object_set_new(f, "ociVersionMax", json_string(RT_OCI_VERSION));
    json_object_set_new(f, "hooks", json_pack("[s,s,s,s,s,s]", "prestart", "createRuntime",
                                              "createContainer", "startContainer", "poststart",
                                              "poststop"));
    json_object_set_new(f, "mountOptions", rt_mount_options_features());

    json_t *lx = json_object();
    json_t *ns = json_array();
    for (int t = 0; t < RT_NS_COUNT; t++)
        json_array_append_new(ns, json_string(rt_ns_name(t)));
    json_object_set_new(lx, "namespaces", ns);
    json_object_set_new(lx, "capabilities", rt_caps_features());
    rt_cgroup_features(lx);
    json_object_set_new(lx, "seccomp", rt_seccomp_features());
    json_object_set_new(lx, "apparmor", json_pack("{s:b}", "enabled", 0));
    json_object_set_new(lx, "selinux", json_pack("{s:b}", "enabled", 0));
    json_object_set_new(lx, "intelRdt", json_pack("{s:b}", "enabled", 0));
    json_object_set_new(lx, "mountExtensions",
                        json_pack("{s:{s:b}}", "idmap", "enabled", 1));
    json_object_set_new(f, "linux", lx);
    json_object_set_new(f, "annotations",
                        json_pack("{s:s}", "org.berth.runtime.version", BERTH_VERSION));
    cli_print_json(f, true);
    return 0;
}
