/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/kernelutil.c - see kernelutil.h.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kernelutil.h"

void kt_config(chio_kernel_config *cfg, const char *path)
{
    cr_assert_eq(sc_config(cfg, path), 0);
}

chio_kernel *kt_kernel(const chio_kernel_config *cfg)
{
    chio_kernel *k = NULL;
    chio_error err;

    chio_error_init(&err);
    cr_assert_eq(chio_kernel_new(cfg, &k, &err), 0, "kernel: %s", err.message);
    return k;
}

chio_receipt_builder *kt_builder(uint64_t n)
{
    chio_receipt_builder *b = sc_builder(n);
    cr_assert_not_null(b);
    return b;
}

int kt_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    int n = 0;

    cr_assert_not_null(d);
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

kt_log_report kt_check_log(const char *path, uint64_t batch_size)
{
    kt_log_report rep;
    char msg[SC_MSG];

    cr_assert_eq(sc_check_log(path, batch_size, &rep, msg), 0, "%s", msg);
    return rep;
}
