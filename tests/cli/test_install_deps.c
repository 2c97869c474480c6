/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/cli/test_install_deps.c - scripts/install-deps.sh (the first step of
 * `make demo` and `make test`) and the MCP test packages in tests/mcp: a
 * node_modules that is out of date is reinstalled with `npm ci`, but one
 * that is a symbolic link (another checkout's install) is never touched,
 * since `npm ci` would empty the directory it points to. The script runs
 * from a copy in a scratch tree, with dpkg-query, node and npm stand-ins
 * first on PATH, so that it installs nothing and reaches no network.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/testutil.h"

#define REPO CHIO_SCENARIOS_DIR "/.."

static char *dir;

static void setup(void)
{
    dir = testutil_tmpdir();
}

static void teardown(void)
{
    testutil_rmrf(dir);
    free(dir);
}

TestSuite(install_deps, .init = setup, .fini = teardown);

static char *in_dir(const char *rel)
{
    char *p;

    cr_assert_geq(asprintf(&p, "%s/%s", dir, rel), 0);
    return p;
}

static void write_in(const char *rel, const char *text, unsigned mode)
{
    char *p = in_dir(rel);

    cr_assert_eq(testutil_write_file(p, text, strlen(text), mode), 0, "%s", p);
    free(p);
}

static int exists_in(const char *rel)
{
    char *p = in_dir(rel);
    struct stat st;
    int found = lstat(p, &st) == 0;

    free(p);
    return found;
}

/* The scratch checkout: the script, tests/mcp with a lockfile newer than
 * the install it describes, and stand-ins that report every package
 * installed and log each npm call to npm-calls. */
static void make_tree(void)
{
    static const char *const dirs[] = {"scripts", "tests", "tests/mcp", "bin", "shared"};
    char *cmd;
    size_t i;

    for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        char *p = in_dir(dirs[i]);
        cr_assert_eq(mkdir(p, 0700), 0, "%s", p);
        free(p);
    }
    cr_assert_geq(asprintf(&cmd, "cp '%s/scripts/install-deps.sh' '%s/scripts/'", REPO, dir), 0);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    free(cmd);
    write_in("bin/dpkg-query", "#!/bin/sh\necho 'install ok installed'\n", 0755);
    write_in("bin/node", "#!/bin/sh\nexit 0\n", 0755);
    write_in("bin/cargo", "#!/bin/sh\nexit 0\n", 0755);
    cr_assert_geq(asprintf(&cmd, "#!/bin/sh\necho \"$*\" >>'%s/npm-calls'\n", dir), 0);
    write_in("bin/npm", cmd, 0755);
    free(cmd);
    /* another checkout's install, older than this checkout's lockfile */
    write_in("shared/.package-lock.json", "{}\n", 0644);
    write_in("shared/keep.txt", "an installed package\n", 0644);
    cr_assert_geq(asprintf(&cmd, "touch -d '2000-01-01' '%s/shared/.package-lock.json'", dir), 0);
    cr_assert_eq(system(cmd), 0);
    free(cmd);
    write_in("tests/mcp/package-lock.json", "{}\n", 0644);
}

/* Run the copy with @args; returns its exit status. */
static int run_script(const char *args)
{
    char *cmd;
    int st;

    cr_assert_geq(asprintf(&cmd,
                           "PATH='%s/bin':\"$PATH\" bash '%s/scripts/install-deps.sh' %s "
                           ">/dev/null 2>&1",
                           dir, dir, args),
                  0);
    st = system(cmd);
    free(cmd);
    cr_assert(WIFEXITED(st), "the script did not exit");
    return WEXITSTATUS(st);
}

Test(install_deps, a_linked_node_modules_is_never_reinstalled)
{
    char *target = in_dir("shared"), *link = in_dir("tests/mcp/node_modules");

    make_tree();
    cr_assert_eq(symlink(target, link), 0);
    cr_expect_eq(run_script("--check"), 0, "--check reports a linked install as missing");
    cr_expect_eq(run_script(""), 0);
    cr_expect(!exists_in("npm-calls"), "npm ran through the link");
    cr_expect(exists_in("shared/keep.txt"), "the linked install was emptied");
    free(target);
    free(link);
}

/* The stand-ins work: a real, out-of-date node_modules does get `npm ci`. */
Test(install_deps, an_out_of_date_node_modules_is_reinstalled)
{
    char *cmd;

    make_tree();
    cr_assert_geq(asprintf(&cmd, "mv '%s/shared' '%s/tests/mcp/node_modules'", dir, dir), 0);
    cr_assert_eq(system(cmd), 0);
    free(cmd);
    cr_expect_eq(run_script("--check"), 1);
    cr_expect_eq(run_script(""), 0);
    cr_expect(exists_in("npm-calls"), "npm ci did not run");
}
