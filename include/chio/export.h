/* SPDX-License-Identifier: Apache-2.0 */
/*
 * chio/export.h - the one visibility macro and the library version.
 *
 * libchio is built with -fvisibility=hidden; only declarations marked
 * CHIO_EXTERN are exported from libchio.so. The version lives here and only
 * here: the Makefile, chio.pc and `chio --version` all read these macros.
 */
#ifndef CHIO_EXPORT_H
#define CHIO_EXPORT_H

#include "chio/abi.h"

#if defined(__GNUC__) || defined(__clang__)
#define CHIO_EXTERN __attribute__((visibility("default")))
#else
#define CHIO_EXTERN
#endif

#define CHIO_VERSION_MAJOR  0
#define CHIO_VERSION_MINOR  2
#define CHIO_VERSION_PATCH  0
#define CHIO_VERSION_STRING "0.2.0"

#endif /* CHIO_EXPORT_H */
