/* SPDX-License-Identifier: Apache-2.0 */
/* Which workload a pod belongs to: the one rule diff and report share. */
#ifndef PW_WORKLOAD_H
#define PW_WORKLOAD_H

#include "model.h"

/*
 * The workload pod p belongs to, named as a template of that workload is
 * ("ns/name[Kind]"): its controller owner's when it has one (a
 * Deployment's ReplicaSet counts as the Deployment), else guessed from
 * the labels and names controllers give their pods. *name is allocated
 * (NULL when neither names a workload) and *kind static.
 * 0 or -ENOMEM. A template (p->kind set) is its own workload: NULL.
 */
int pw_pod_workload(const struct pw_pod *p, char **name, const char **kind);

#endif
