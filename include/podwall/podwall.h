/* SPDX-License-Identifier: Apache-2.0 */
/* libpodwall: Kubernetes NetworkPolicy semantics, explained and enforced. */
#ifndef PODWALL_PODWALL_H
#define PODWALL_PODWALL_H

#include <podwall/diag.h>
#include <podwall/port.h>
#include <podwall/cluster.h>
#include <podwall/engine.h>
#include <podwall/datapath.h>
#include <podwall/lint.h>
#include <podwall/diff.h>
#include <podwall/assert.h>
#include <podwall/conntrack.h>
#include <podwall/flow.h>

#ifdef __cplusplus
extern "C" {
#endif

/* "0.1.0"; the library's version, for `podwall version`. */
const char *pw_version(void);

#ifdef __cplusplus
}
#endif
#endif
