/* SPDX-License-Identifier: Apache-2.0 */
/*
 * chio/chio.h - umbrella header for libchio, the C security kernel for AI
 * agents that produces and checks chio's receipts and capability tokens
 * byte for byte. Include this, link with -lchio (pkg-config chio).
 */
#ifndef CHIO_CHIO_H
#define CHIO_CHIO_H

#include "chio/export.h"
#include "chio/error.h"
#include "chio/json.h"
#include "chio/crypto.h"
#include "chio/receipt.h"
#include "chio/capability.h"
#include "chio/merkle.h"
#include "chio/checkpoint.h"
#include "chio/store.h"
#include "chio/kernel.h"
#include "chio/evaluate.h"
#ifdef CHIO_OTEL
#include "chio/otel.h" /* only in libraries built with make OTEL=1 */
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* chio_version - CHIO_VERSION_STRING of the linked library. Returns a static
 * string, never NULL, never freed. Thread-safety: any thread. */
CHIO_EXTERN const char *chio_version(void);

#ifdef __cplusplus
}
#endif

#endif /* CHIO_CHIO_H */
