// SPDX-License-Identifier: Apache-2.0
/*
 * Which workload a pod belongs to. A pod's controller owner says it best;
 * manifests written by hand or exported without ownerReferences still
 * carry the labels and names each controller gives its pods, so those
 * are the fallback, tried in a fixed order.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labels.h"
#include "workload.h"

/* How a controller names its pods and marks them. */
struct controller {
	const char *label;
	const char *kind;
	/* Length of the workload's name at the start of the pod's name (0:
	 * not of this form); the label's value is given. */
	size_t (*base)(const char *pod, const char *value);
};

/* Deployment pods are "NAME-HASH-xxxxx" with pod-template-hash HASH. */
static size_t hash_base(const char *pod, const char *hash)
{
	size_t hl = strlen(hash), nl = strlen(pod);

	for (size_t i = 1; i + hl + 1 < nl; i++)
		if (pod[i - 1] == '-' && !strncmp(pod + i, hash, hl) &&
		    pod[i + hl] == '-')
			return i - 1;
	return 0;
}

/* StatefulSet pods are "NAME-ORDINAL". */
static size_t ordinal_base(const char *pod, const char *value)
{
	size_t n = strlen(pod), i = n;

	(void)value;
	while (i > 0 && pod[i - 1] >= '0' && pod[i - 1] <= '9')
		i--;
	return i > 1 && i < n && pod[i - 1] == '-' ? i - 1 : 0;
}

/* DaemonSet pods are "NAME-xxxxx". */
static size_t suffix_base(const char *pod, const char *value)
{
	const char *dash = strrchr(pod, '-');

	(void)value;
	return dash && dash > pod && dash[1] ? (size_t)(dash - pod) : 0;
}

/* Job pods carry the job's name in a label: its whole name. */
static size_t job_base(const char *pod, const char *value)
{
	(void)pod;
	return strlen(value);
}

static const struct controller controllers[] = {
	{ "pod-template-hash", "Deployment", hash_base },
	{ "statefulset.kubernetes.io/pod-name", "StatefulSet", ordinal_base },
	{ "controller-revision-hash", "DaemonSet", suffix_base },
	{ "batch.kubernetes.io/job-name", "Job", job_base },
	{ "job-name", "Job", job_base },
};

/* Owner kinds that are workloads: a pod's controller of another kind
 * (a Node for a static pod's mirror, a custom resource) names none. */
static const char *const owner_kinds[] = {
	"ReplicaSet", "StatefulSet",	       "DaemonSet", "Job", "CronJob",
	"Deployment", "ReplicationController",
};

static bool owner_is_workload(const struct pw_owner *o)
{
	for (size_t i = 0; o->kind && i < PW_ARRAY_SIZE(owner_kinds); i++)
		if (!strcmp(o->kind, owner_kinds[i]))
			return true;
	return false;
}

static int name_of(const struct pw_pod *p, const char *base, size_t len,
		   const char *kind, char **name)
{
	return asprintf(name, "%s/%.*s[%s]", p->ns, (int)len, base, kind) < 0 ?
		       (*name = NULL, -ENOMEM) :
		       0;
}

/* A Deployment's ReplicaSet is "NAME-HASH" where HASH is the
 * pod-template-hash label of its pods: they belong to the Deployment NAME
 * across its rollouts. */
static int owner_workload(const struct pw_pod *p, char **name,
			  const char **kind)
{
	const struct pw_owner *o = &p->owner;
	const char *hash = pw_labels_get(&p->labels, "pod-template-hash");
	size_t nl = strlen(o->name), hl = hash ? strlen(hash) : 0;

	if (!strcmp(o->kind, "ReplicaSet") && hl && hl + 1 < nl &&
	    o->name[nl - hl - 1] == '-' && !strcmp(o->name + nl - hl, hash)) {
		*kind = "Deployment";
		return name_of(p, o->name, nl - hl - 1, *kind, name);
	}
	*kind = o->kind;
	return name_of(p, o->name, nl, *kind, name);
}

int pw_pod_workload(const struct pw_pod *p, char **name, const char **kind)
{
	const struct controller *k;
	const char *v;
	size_t base;

	*name = NULL;
	if (p->kind)
		return 0;
	if (owner_is_workload(&p->owner))
		return owner_workload(p, name, kind);
	for (size_t i = 0; i < PW_ARRAY_SIZE(controllers); i++) {
		k = &controllers[i];
		v = pw_labels_get(&p->labels, k->label);
		if (!v || !(base = k->base(p->name, v)))
			continue;
		*kind = k->kind;
		/* A Job's name is the label's value, not a prefix. */
		return name_of(p, k->base == job_base ? v : p->name, base,
			       *kind, name);
	}
	return 0;
}
