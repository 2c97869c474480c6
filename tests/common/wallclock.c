/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/common/wallclock.c - the stepping wall clock of wallclock.h: the
 * process's clock_gettime(), looked up once with dlsym(RTLD_NEXT), with
 * CLOCK_REALTIME moved ahead while armed.
 */
#include <dlfcn.h>
#include <time.h>

#include "common/wallclock.h"

typedef int (*clock_gettime_fn)(clockid_t, struct timespec *);

static long realtime_ahead; /* seconds CLOCK_REALTIME reads ahead (atomic); 0 = disarmed */

void wc_realtime_ahead(long secs)
{
    __atomic_store_n(&realtime_ahead, secs, __ATOMIC_RELAXED);
}

int clock_gettime(clockid_t id, struct timespec *ts)
{
    static clock_gettime_fn real;
    clock_gettime_fn fn = __atomic_load_n(&real, __ATOMIC_ACQUIRE);
    int rc;

    if (fn == NULL) {
        fn = (clock_gettime_fn)dlsym(RTLD_NEXT, "clock_gettime");
        if (fn == NULL)
            return -1;
        __atomic_store_n(&real, fn, __ATOMIC_RELEASE);
    }
    rc = fn(id, ts);
    if (rc == 0 && id == CLOCK_REALTIME)
        ts->tv_sec += __atomic_load_n(&realtime_ahead, __ATOMIC_RELAXED);
    return rc;
}
