/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli/bench_threads.c - for `chio bench`'s report: which scheduling policy
 * the kernel's signer threads of this process actually run under, read
 * back from the system (a requested signer_realtime the system refused is
 * logged by the kernel; this says what the measured run got). Linux only:
 * the threads are found by name under /proc/self/task.
 */
#include <dirent.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "cli.h"

/* The thread @tid's name into @name; 0, or -1 when it has exited. */
static int thread_name(const char *tid, char *name, size_t cap)
{
    char path[300];
    FILE *f;

    snprintf(path, sizeof(path), "/proc/self/task/%s/comm", tid);
    if ((f = fopen(path, "r")) == NULL)
        return -1;
    if (fgets(name, (int)cap, f) == NULL)
        name[0] = '\0';
    fclose(f);
    name[strcspn(name, "\n")] = '\0';
    return 0;
}

int cli_signers_realtime(void)
{
    char name[32];
    struct dirent *d;
    DIR *dir = opendir("/proc/self/task");
    int found = 0, all_fifo = 1;

    if (dir == NULL)
        return -1;
    while ((d = readdir(dir)) != NULL) {
        if (d->d_name[0] == '.' || thread_name(d->d_name, name, sizeof(name)) != 0 ||
            strcmp(name, "chio-signer") != 0)
            continue;
        found = 1;
        if (sched_getscheduler((pid_t)atoi(d->d_name)) != SCHED_FIFO)
            all_fifo = 0;
    }
    closedir(dir);
    return found ? all_fifo : -1;
}
