// SPDX-License-Identifier: Apache-2.0
/*
 * Decoding of the kinds that place pods and addresses: Namespace, Pod, the
 * workloads (whose pod template stands for their pods), Node and Service.
 *
 * The field tables list every field of the API types that podwall reads
 * around; fields with a NULL handler are known but not modelled (a Pod's
 * volumes, a Deployment's strategy) and take any well-formed value.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"

/* ---- Namespace ---------------------------------------------------- */

static void obj_meta(struct pw_dec *x, const struct pw_ynode *v, void *obj)
{
	/* every object's doc struct starts with its struct pw_meta */
	pw_dec_meta(x, v, obj);
}

static const struct pw_field namespace_fields[] = {
	{ "apiVersion", NULL },	  { "kind", NULL },
	{ "metadata", obj_meta }, { "spec", NULL }, /* finalizers */
	{ "status", NULL },
};

void pw_decode_namespace(struct pw_dec *x, const struct pw_kind_ops *k,
			 const struct pw_ynode *root)
{
	struct pw_meta m = { 0 };
	struct pw_namespace *ns;

	PW_DEC_MAP(x, root, namespace_fields, &m);
	if (!pw_meta_finish(x, root, &m, false) || x->errors || !pw_dec_ok(x))
		goto out_clear;
	ns = PW_PUSH(x->c->nss, x->c->nnss, x->c->cap_nss);
	if (!ns) {
		x->oom = true;
		goto out_clear;
	}
	ns->name = m.name;
	ns->labels = m.labels;
	ns->annotations = m.annotations;
	ns->declared = true;
	ns->pos = root->pos;
	ns->name_pos = m.name_pos;
	m.name = NULL;
	m.labels = m.annotations = (struct pw_labels){ 0 };
out_clear:
	pw_meta_clear(&m);
}

/* ---- containers --------------------------------------------------- */

struct cport_doc {
	struct pw_cport *p;
	bool has_port;
};

static void cport_name(struct pw_dec *x, const struct pw_ynode *v, void *obj)
{
	struct cport_doc *d = obj;

	free(d->p->name);
	pw_dec_str(x, v, &d->p->name);
}

static void cport_port(struct pw_dec *x, const struct pw_ynode *v, void *obj)
{
	struct cport_doc *d = obj;

	d->has_port = true;
	pw_dec_int32(x, v, &d->p->port);
}

static void cport_proto(struct pw_dec *x, const struct pw_ynode *v, void *obj)
{
	struct cport_doc *d = obj;

	pw_dec_proto(x, v, &d->p->proto);
}

static void check_int32(struct pw_dec *x, const struct pw_ynode *v, void *obj)
{
	int64_t n;

	pw_dec_int32(x, v, &n);
}

static void check_str(struct pw_dec *x, const struct pw_ynode *v, void *obj)
{
	char *s;

	if (pw_dec_str(x, v, &s))
		free(s);
}

static const struct pw_field cport_fields[] = {
	{ "name", cport_name },	     { "containerPort", cport_port },
	{ "protocol", cport_proto }, { "hostPort", check_int32 },
	{ "hostIP", check_str },
};

static void cport_item(struct pw_dec *x, const struct pw_ynode *n, void *item,
		       void *ctx)
{
	struct cport_doc d = { .p = item };
	size_t mark;

	d.p->pos = n->pos;
	d.p->path = strdup(x->path.buf);
	if (!d.p->path)
		x->oom = true;
	PW_DEC_MAP(x, n, cport_fields, &d);
	if (d.has_port || !pw_dec_ok(x))
		return;
	mark = pw_path_push(&x->path, "containerPort");
	pw_dec_err(x, n, "required value");
	pw_path_pop(&x->path, mark);
}

/* The ports of every container go into the pod's one list. */
static void container_ports(struct pw_dec *x, const struct pw_ynode *v,
			    void *obj)
{
	struct pw_pod *pod = obj;
	struct pw_cport *tmp, *all;
	size_t n;

	tmp = pw_dec_array(x, v, sizeof(*tmp), &n, cport_item, NULL);
	if (!n)
		return;
	all = realloc(pod->ports, (pod->nports + n) * sizeof(*all));
	if (!all) {
		for (size_t i = 0; i < n; i++) {
			free(tmp[i].name);
			free(tmp[i].path);
		}
		x->oom = true;
	} else {
		memcpy(all + pod->nports, tmp, n * sizeof(*all));
		pod->ports = all;
		pod->nports += n;
	}
	free(tmp);
}

static const struct pw_field container_fields[] = {
	{ "ports", container_ports },
	{ "name", check_str },
	{ "image", NULL },
	{ "command", NULL },
	{ "args", NULL },
	{ "workingDir", NULL },
	{ "env", NULL },
	{ "envFrom", NULL },
	{ "resources", NULL },
	{ "resizePolicy", NULL },
	{ "restartPolicy", NULL },
	{ "restartPolicyRules", NULL },
	{ "volumeMounts", NULL },
	{ "volumeDevices", NULL },
	{ "livenessProbe", NULL },
	{ "readinessProbe", NULL },
	{ "startupProbe", NULL },
	{ "lifecycle", NULL },
	{ "terminationMessagePath", NULL },
	{ "terminationMessagePolicy", NULL },
	{ "imagePullPolicy", NULL },
	{ "securityContext", NULL },
	{ "stdin", NULL },
	{ "stdinOnce", NULL },
	{ "tty", NULL },
};

static void container_item(struct pw_dec *x, const struct pw_ynode *n,
			   void *item, void *ctx)
{
	PW_DEC_MAP(x, n, container_fields, ctx);
}

static void containers(struct pw_dec *x, const struct pw_ynode *v, void *obj)
{
	size_t n;

	free(pw_dec_array(x, v, 1, &n, container_item, obj));
}

/* ---- PodSpec ------------------------------------------------------ */

static void spec_node_name(struct pw_dec *x, const struct pw_ynode *v,
			   void *obj)
{
	struct pw_pod *pod = obj;

	free(pod->node);
	if (pw_dec_str(x, v, &pod->node) && !pod->node[0]) {
		free(pod->node);
		pod->node = NULL;
	}
}

static void spec_host_network(struct pw_dec *x, const struct pw_ynode *v,
			      void *obj)
{
	struct pw_pod *pod = obj;

	pw_dec_bool(x, v, &pod->host_network);
}

static const struct pw_field pod_spec_fields[] = {
	{ "containers", containers },
	{ "initContainers", containers },
	{ "nodeName", spec_node_name },
	{ "hostNetwork", spec_host_network },
	{ "ephemeralContainers", NULL },
	{ "volumes", NULL },
	{ "restartPolicy", NULL },
	{ "terminationGracePeriodSeconds", NULL },
	{ "activeDeadlineSeconds", NULL },
	{ "dnsPolicy", NULL },
	{ "dnsConfig", NULL },
	{ "nodeSelector", NULL },
	{ "serviceAccountName", NULL },
	{ "serviceAccount", NULL },
	{ "automountServiceAccountToken", NULL },
	{ "hostPID", NULL },
	{ "hostIPC", NULL },
	{ "hostUsers", NULL },
	{ "shareProcessNamespace", NULL },
	{ "securityContext", NULL },
	{ "imagePullSecrets", NULL },
	{ "hostname", NULL },
	{ "subdomain", NULL },
	{ "setHostnameAsFQDN", NULL },
	{ "affinity", NULL },
	{ "schedulerName", NULL },
	{ "tolerations", NULL },
	{ "hostAliases", NULL },
	{ "priorityClassName", NULL },
	{ "priority", NULL },
	{ "preemptionPolicy", NULL },
	{ "readinessGates", NULL },
	{ "runtimeClassName", NULL },
	{ "enableServiceLinks", NULL },
	{ "overhead", NULL },
	{ "topologySpreadConstraints", NULL },
	{ "os", NULL },
	{ "schedulingGates", NULL },
	{ "resourceClaims", NULL },
	{ "resources", NULL },
	{ "hostnameOverride", NULL },
};

/* ---- Pod ---------------------------------------------------------- */

struct pod_doc {
	struct pw_meta meta;
	struct pw_pod pod;
	struct pw_addr pod_ip;
	bool has_pod_ip;
	struct pw_addr *pod_ips;
	size_t npod_ips;
};

static void pod_spec(struct pw_dec *x, const struct pw_ynode *v, void *obj)
{
	struct pod_doc *d = obj;

	PW_DEC_MAP(x, v, pod_spec_fields, &d->pod);
}

static const char *const phases[] = {
	[PW_PHASE_PENDING] = "Pending",	    [PW_PHASE_RUNNING] = "Running",
	[PW_PHASE_SUCCEEDED] = "Succeeded", [PW_PHASE_FAILED] = "Failed",
	[PW_PHASE_UNKNOWN] = "Unknown",
};

static void status_phase(struct pw_dec *x, const struct pw_ynode *v, void *obj)
{
	struct pod_doc *d = obj;
	char *s;

	if (!pw_dec_str(x, v, &s))
		return;
	for (size_t i = PW_PHASE_PENDING; i < PW_ARRAY_SIZE(phases); i++)
		if (!strcmp(s, phases[i]))
			d->pod.phase = (enum pw_phase)i;
	if (d->pod.phase == PW_PHASE_NONE && s[0])
		pw_dec_err(x, v, "unknown pod phase \"%s\"", s);
	free(s);
}

static void status_pod_ip(struct pw_dec *x, const struct pw_ynode *v, void *obj)
{
	struct pod_doc *d = obj;

	d->has_pod_ip = pw_dec_addr(x, v, &d->pod_ip);
}

static void check_addr(struct pw_dec *x, const struct pw_ynode *v, void *obj)
{
	struct pw_addr a;

	pw_dec_addr(x, v, &a);
}

static void pod_ip_field(struct pw_dec *x, const struct pw_ynode *v, void *obj)
{
	pw_dec_addr(x, v, obj);
}

static const struct pw_field pod_ip_fields[] = {
	{ "ip", pod_ip_field },
};

static const struct pw_field host_ip_fields[] = {
	{ "ip", check_addr },
};

static void pod_ip_item(struct pw_dec *x, const struct pw_ynode *n, void *item,
			void *ctx)
{
	PW_DEC_MAP(x, n, pod_ip_fields, item);
}

static void host_ip_item(struct pw_dec *x, const struct pw_ynode *n, void *item,
			 void *ctx)
{
	PW_DEC_MAP(x, n, host_ip_fields, item);
}

/* Dual-stack: at most one address per family. */
static void status_pod_ips(struct pw_dec *x, const struct pw_ynode *v,
			   void *obj)
{
	struct pod_doc *d = obj;

	free(d->pod_ips);
	d->pod_ips = pw_dec_array(x, v, sizeof(*d->pod_ips), &d->npod_ips,
				  pod_ip_item, NULL);
	if (d->npod_ips > PW_POD_MAX_IPS ||
	    (d->npod_ips == 2 && d->pod_ips[0].family == d->pod_ips[1].family &&
	     d->pod_ips[0].family))
		pw_dec_err(x, v, "at most one address per IP family");
}

static void status_host_ips(struct pw_dec *x, const struct pw_ynode *v,
			    void *obj)
{
	size_t n;

	free(pw_dec_array(x, v, sizeof(struct pw_addr), &n, host_ip_item,
			  NULL));
}

static const struct pw_field pod_status_fields[] = {
	{ "phase", status_phase },
	{ "podIP", status_pod_ip },
	{ "podIPs", status_pod_ips },
	{ "hostIP", check_addr },
	{ "hostIPs", status_host_ips },
	{ "conditions", NULL },
	{ "message", NULL },
	{ "reason", NULL },
	{ "nominatedNodeName", NULL },
	{ "startTime", NULL },
	{ "initContainerStatuses", NULL },
	{ "containerStatuses", NULL },
	{ "ephemeralContainerStatuses", NULL },
	{ "qosClass", NULL },
	{ "resize", NULL },
	{ "resourceClaimStatuses", NULL },
	{ "observedGeneration", NULL },
	{ "extendedResourceClaimStatus", NULL },
};

static void pod_status(struct pw_dec *x, const struct pw_ynode *v, void *obj)
{
	PW_DEC_MAP(x, v, pod_status_fields, obj);
}

static const struct pw_field pod_fields[] = {
	{ "apiVersion", NULL },	  { "kind", NULL },
	{ "metadata", obj_meta }, { "spec", pod_spec },
	{ "status", pod_status },
};

/* Moves the decoded pod (named by m) into the cluster. */
static void pod_commit(struct pw_dec *x, const struct pw_ynode *root,
		       struct pw_meta *m, struct pw_pod *pod)
{
	struct pw_pod *p = PW_PUSH(x->c->pods, x->c->npods, x->c->cap_pods);

	if (!p) {
		x->oom = true;
		return;
	}
	*p = *pod;
	p->ns = m->ns;
	p->name = m->name;
	p->labels = m->labels;
	p->annotations = m->annotations;
	p->pos = root->pos;
	p->name_pos = m->name_pos;
	p->ns_pos = m->ns_pos;
	if (!p->kind)
		p->owner = m->owner;
	else
		pw_owner_clear(&m->owner);
	memset(pod, 0, sizeof(*pod));
	m->ns = m->name = NULL;
	m->labels = m->annotations = (struct pw_labels){ 0 };
	m->owner = (struct pw_owner){ 0 };
}

void pw_decode_pod(struct pw_dec *x, const struct pw_kind_ops *k,
		   const struct pw_ynode *root)
{
	struct pod_doc d = { 0 };

	PW_DEC_MAP(x, root, pod_fields, &d);
	if (!pw_meta_finish(x, root, &d.meta, true) || x->errors ||
	    !pw_dec_ok(x))
		goto out_clear;
	if (d.npod_ips) {
		memcpy(d.pod.ips, d.pod_ips, d.npod_ips * sizeof(*d.pod_ips));
		d.pod.nips = d.npod_ips;
	} else if (d.has_pod_ip) {
		d.pod.ips[0] = d.pod_ip;
		d.pod.nips = 1;
	}
	pod_commit(x, root, &d.meta, &d.pod);
out_clear:
	free(d.pod_ips);
	pw_pod_clear(&d.pod);
	pw_meta_clear(&d.meta);
}

/* ---- workloads ---------------------------------------------------- */

struct workload_doc {
	struct pw_meta meta;
	struct pw_pod pod; /* the template */
	bool has_template;
	const struct workload *w;
};

struct workload {
	const char *kind;
	const struct pw_field *spec;
	size_t nspec;
	const char *template_path; /* for "required value" */
};

/* Template metadata: only the labels are the pods'. */
static void template_meta(struct pw_dec *x, const struct pw_ynode *v, void *obj)
{
	struct pw_pod *pod = obj;
	struct pw_meta m = { 0 };

	pw_dec_meta(x, v, &m);
	pw_labels_clear(&pod->labels);
	pod->labels = m.labels;
	m.labels = (struct pw_labels){ 0 };
	pw_meta_clear(&m);
}

static void template_spec(struct pw_dec *x, const struct pw_ynode *v, void *obj)
{
	PW_DEC_MAP(x, v, pod_spec_fields, obj);
}

static const struct pw_field template_fields[] = {
	{ "metadata", template_meta },
	{ "spec", template_spec },
};

static void wl_template(struct pw_dec *x, const struct pw_ynode *v, void *obj)
{
	struct workload_doc *d = obj;

	d->has_template = true;
	PW_DEC_MAP(x, v, template_fields, &d->pod);
}

static const struct pw_field deployment_spec[] = {
	{ "template", wl_template }, { "replicas", NULL },
	{ "selector", NULL },	     { "strategy", NULL },
	{ "minReadySeconds", NULL }, { "revisionHistoryLimit", NULL },
	{ "paused", NULL },	     { "progressDeadlineSeconds", NULL },
};

static const struct pw_field statefulset_spec[] = {
	{ "template", wl_template },
	{ "replicas", NULL },
	{ "selector", NULL },
	{ "serviceName", NULL },
	{ "volumeClaimTemplates", NULL },
	{ "podManagementPolicy", NULL },
	{ "updateStrategy", NULL },
	{ "revisionHistoryLimit", NULL },
	{ "minReadySeconds", NULL },
	{ "persistentVolumeClaimRetentionPolicy", NULL },
	{ "ordinals", NULL },
};

static const struct pw_field daemonset_spec[] = {
	{ "template", wl_template },	  { "selector", NULL },
	{ "updateStrategy", NULL },	  { "minReadySeconds", NULL },
	{ "revisionHistoryLimit", NULL },
};

/* ReplicaSet and ReplicationController */
static const struct pw_field replicaset_spec[] = {
	{ "template", wl_template },
	{ "replicas", NULL },
	{ "selector", NULL },
	{ "minReadySeconds", NULL },
};

static const struct pw_field job_spec[] = {
	{ "template", wl_template },	  { "parallelism", NULL },
	{ "completions", NULL },	  { "activeDeadlineSeconds", NULL },
	{ "podFailurePolicy", NULL },	  { "successPolicy", NULL },
	{ "backoffLimit", NULL },	  { "backoffLimitPerIndex", NULL },
	{ "maxFailedIndexes", NULL },	  { "selector", NULL },
	{ "manualSelector", NULL },	  { "ttlSecondsAfterFinished", NULL },
	{ "completionMode", NULL },	  { "suspend", NULL },
	{ "podReplacementPolicy", NULL }, { "managedBy", NULL },
};

static void job_template_meta(struct pw_dec *x, const struct pw_ynode *v,
			      void *obj)
{
	struct pw_meta m = { 0 };

	pw_dec_meta(x, v, &m);
	pw_meta_clear(&m);
}

static void job_template_spec(struct pw_dec *x, const struct pw_ynode *v,
			      void *obj)
{
	PW_DEC_MAP(x, v, job_spec, obj);
}

static const struct pw_field job_template_fields[] = {
	{ "metadata", job_template_meta },
	{ "spec", job_template_spec },
};

static void cronjob_job_template(struct pw_dec *x, const struct pw_ynode *v,
				 void *obj)
{
	PW_DEC_MAP(x, v, job_template_fields, obj);
}

static const struct pw_field cronjob_spec[] = {
	{ "jobTemplate", cronjob_job_template },
	{ "schedule", NULL },
	{ "timeZone", NULL },
	{ "startingDeadlineSeconds", NULL },
	{ "concurrencyPolicy", NULL },
	{ "suspend", NULL },
	{ "successfulJobsHistoryLimit", NULL },
	{ "failedJobsHistoryLimit", NULL },
};

#define WORKLOAD(k, table, path)                     \
	{                                            \
		k, table, PW_ARRAY_SIZE(table), path \
	}

static const struct workload workloads[] = {
	WORKLOAD("Deployment", deployment_spec, "spec.template"),
	WORKLOAD("StatefulSet", statefulset_spec, "spec.template"),
	WORKLOAD("DaemonSet", daemonset_spec, "spec.template"),
	WORKLOAD("ReplicaSet", replicaset_spec, "spec.template"),
	WORKLOAD("ReplicationController", replicaset_spec, "spec.template"),
	WORKLOAD("Job", job_spec, "spec.template"),
	WORKLOAD("CronJob", cronjob_spec, "spec.jobTemplate.spec.template"),
};

static void wl_spec(struct pw_dec *x, const struct pw_ynode *v, void *obj)
{
	struct workload_doc *d = obj;

	pw_dec_map(x, v, d->w->spec, d->w->nspec, d);
}

static const struct pw_field workload_fields[] = {
	{ "apiVersion", NULL }, { "kind", NULL },   { "metadata", obj_meta },
	{ "spec", wl_spec },	{ "status", NULL },
};

static const struct workload *find_workload(const char *kind)
{
	for (size_t i = 0; i < PW_ARRAY_SIZE(workloads); i++)
		if (!strcmp(workloads[i].kind, kind))
			return &workloads[i];
	return NULL;
}

/* The template is one pod-equivalent named after the workload. */
void pw_decode_workload(struct pw_dec *x, const struct pw_kind_ops *k,
			const struct pw_ynode *root)
{
	struct workload_doc d = { .w = find_workload(k->kind) };
	size_t mark;

	if (!d.w)
		return;
	PW_DEC_MAP(x, root, workload_fields, &d);
	if (!pw_meta_finish(x, root, &d.meta, true) || !pw_dec_ok(x))
		goto out_clear;
	if (!d.has_template) {
		mark = pw_path_push(&x->path, d.w->template_path);
		pw_dec_err(x, root, "required value");
		pw_path_pop(&x->path, mark);
	}
	if (x->errors)
		goto out_clear;
	pw_labels_clear(&d.meta.labels);
	d.meta.labels = d.pod.labels;
	d.pod.labels = (struct pw_labels){ 0 };
	d.pod.kind = d.w->kind;
	pod_commit(x, root, &d.meta, &d.pod);
out_clear:
	pw_pod_clear(&d.pod);
	pw_meta_clear(&d.meta);
}

/* ---- Node --------------------------------------------------------- */

struct node_doc {
	struct pw_meta meta;
	struct pw_node node;
	struct pw_cidr pod_cidr;
	bool has_pod_cidr;
};

static void node_pod_cidr(struct pw_dec *x, const struct pw_ynode *v, void *obj)
{
	struct node_doc *d = obj;

	d->has_pod_cidr = pw_dec_cidr(x, v, &d->pod_cidr);
}

static void cidr_item(struct pw_dec *x, const struct pw_ynode *n, void *item,
		      void *ctx)
{
	pw_dec_cidr(x, n, item);
}

static void node_pod_cidrs(struct pw_dec *x, const struct pw_ynode *v,
			   void *obj)
{
	struct node_doc *d = obj;

	free(d->node.pod_cidrs);
	d->node.pod_cidrs = pw_dec_array(x, v, sizeof(struct pw_cidr),
					 &d->node.npod_cidrs, cidr_item, NULL);
}

static const struct pw_field node_spec_fields[] = {
	{ "podCIDR", node_pod_cidr }, { "podCIDRs", node_pod_cidrs },
	{ "providerID", NULL },	      { "unschedulable", NULL },
	{ "taints", NULL },	      { "configSource", NULL },
	{ "externalID", NULL },
};

struct node_addr {
	char *type;
	const struct pw_ynode *address;
};

static void addr_type(struct pw_dec *x, const struct pw_ynode *v, void *obj)
{
	struct node_addr *a = obj;

	free(a->type);
	pw_dec_str(x, v, &a->type);
}

static void addr_address(struct pw_dec *x, const struct pw_ynode *v, void *obj)
{
	((struct node_addr *)obj)->address = v;
}

static const struct pw_field node_addr_fields[] = {
	{ "type", addr_type },
	{ "address", addr_address },
};

/* Only InternalIP and ExternalIP are addresses; the rest are names. */
static void node_addr_item(struct pw_dec *x, const struct pw_ynode *n,
			   void *item, void *ctx)
{
	struct pw_node *node = ctx;
	struct node_addr a = { 0 };
	struct pw_addr *ip = &node->addrs[node->naddrs];
	size_t mark;

	PW_DEC_MAP(x, n, node_addr_fields, &a);
	mark = pw_path_push(&x->path, "address");
	if (a.type &&
	    (!strcmp(a.type, "InternalIP") || !strcmp(a.type, "ExternalIP"))) {
		if (a.address && pw_dec_addr(x, a.address, ip))
			node->naddrs++;
	} else if (a.address) {
		check_str(x, a.address, NULL);
	}
	pw_path_pop(&x->path, mark);
	free(a.type);
}

static void node_addresses(struct pw_dec *x, const struct pw_ynode *v,
			   void *obj)
{
	struct node_doc *d = obj;
	size_t n;

	if (v->type == PW_NODE_SEQ) {
		d->node.addrs = calloc(v->seq.n + 1, sizeof(*d->node.addrs));
		if (!d->node.addrs) {
			x->oom = true;
			return;
		}
	}
	free(pw_dec_array(x, v, 1, &n, node_addr_item, &d->node));
}

static const struct pw_field node_status_fields[] = {
	{ "addresses", node_addresses },
	{ "capacity", NULL },
	{ "allocatable", NULL },
	{ "phase", NULL },
	{ "conditions", NULL },
	{ "daemonEndpoints", NULL },
	{ "nodeInfo", NULL },
	{ "images", NULL },
	{ "volumesInUse", NULL },
	{ "volumesAttached", NULL },
	{ "config", NULL },
	{ "runtimeHandlers", NULL },
	{ "features", NULL },
	{ "declaredFeatures", NULL },
};

static void node_spec(struct pw_dec *x, const struct pw_ynode *v, void *obj)
{
	PW_DEC_MAP(x, v, node_spec_fields, obj);
}

static void node_status(struct pw_dec *x, const struct pw_ynode *v, void *obj)
{
	PW_DEC_MAP(x, v, node_status_fields, obj);
}

static const struct pw_field node_fields[] = {
	{ "apiVersion", NULL },	   { "kind", NULL },
	{ "metadata", obj_meta },  { "spec", node_spec },
	{ "status", node_status },
};

void pw_decode_node(struct pw_dec *x, const struct pw_kind_ops *k,
		    const struct pw_ynode *root)
{
	struct node_doc d = { 0 };
	struct pw_node *n;

	PW_DEC_MAP(x, root, node_fields, &d);
	if (!pw_meta_finish(x, root, &d.meta, false) || x->errors ||
	    !pw_dec_ok(x))
		goto out_clear;
	if (!d.node.npod_cidrs && d.has_pod_cidr) {
		d.node.pod_cidrs = malloc(sizeof(*d.node.pod_cidrs));
		if (!d.node.pod_cidrs) {
			x->oom = true;
			goto out_clear;
		}
		d.node.pod_cidrs[0] = d.pod_cidr;
		d.node.npod_cidrs = 1;
	}
	n = PW_PUSH(x->c->nodes, x->c->nnodes, x->c->cap_nodes);
	if (!n) {
		x->oom = true;
		goto out_clear;
	}
	*n = d.node;
	n->name = d.meta.name;
	n->annotations = d.meta.annotations;
	n->pos = root->pos;
	n->name_pos = d.meta.name_pos;
	d.meta.name = NULL;
	d.meta.annotations = (struct pw_labels){ 0 };
	memset(&d.node, 0, sizeof(d.node));
out_clear:
	pw_node_clear(&d.node);
	pw_meta_clear(&d.meta);
}

/* ---- Service ------------------------------------------------------ */

struct svc_doc {
	struct pw_meta meta;
	struct pw_service svc;
	struct pw_addr cluster_ip; /* spec.clusterIP */
	bool has_cluster_ip;
};

struct svc_port_doc {
	struct pw_svc_port *p;
	bool has_port;
	bool has_target;
};

static void sport_name(struct pw_dec *x, const struct pw_ynode *v, void *obj)
{
	struct svc_port_doc *d = obj;

	free(d->p->name);
	pw_dec_str(x, v, &d->p->name);
}

static void sport_proto(struct pw_dec *x, const struct pw_ynode *v, void *obj)
{
	pw_dec_proto(x, v, &((struct svc_port_doc *)obj)->p->proto);
}

static void sport_port(struct pw_dec *x, const struct pw_ynode *v, void *obj)
{
	struct svc_port_doc *d = obj;

	d->has_port = true;
	pw_dec_int32(x, v, &d->p->port);
}

static void sport_target(struct pw_dec *x, const struct pw_ynode *v, void *obj)
{
	struct svc_port_doc *d = obj;

	free(d->p->target_name);
	d->has_target = true;
	pw_dec_int_or_str(x, v, &d->p->target_port, &d->p->target_name);
	d->p->target_named = d->p->target_name != NULL;
}

static const struct pw_field svc_port_fields[] = {
	{ "name", sport_name },	     { "protocol", sport_proto },
	{ "port", sport_port },	     { "targetPort", sport_target },
	{ "nodePort", check_int32 }, { "appProtocol", check_str },
};

static void svc_port_item(struct pw_dec *x, const struct pw_ynode *n,
			  void *item, void *ctx)
{
	struct svc_port_doc d = { .p = item };
	size_t mark;

	d.p->pos = n->pos;
	PW_DEC_MAP(x, n, svc_port_fields, &d);
	if (!d.has_target)
		d.p->target_port = d.p->port;
	if (d.has_port || !pw_dec_ok(x))
		return;
	mark = pw_path_push(&x->path, "port");
	pw_dec_err(x, n, "required value");
	pw_path_pop(&x->path, mark);
}

static void svc_ports(struct pw_dec *x, const struct pw_ynode *v, void *obj)
{
	struct svc_doc *d = obj;

	free(d->svc.ports);
	d->svc.ports = pw_dec_array(x, v, sizeof(*d->svc.ports), &d->svc.nports,
				    svc_port_item, NULL);
}

static void svc_selector(struct pw_dec *x, const struct pw_ynode *v, void *obj)
{
	struct svc_doc *d = obj;

	d->svc.has_selector = true;
	pw_dec_labels(x, v, &d->svc.selector);
}

/* A ClusterIP, unless "None" (headless) or empty (not allocated yet). */
static bool cluster_ip(struct pw_dec *x, const struct pw_ynode *n,
		       struct pw_addr *out)
{
	if (pw_node_is_string(n) &&
	    (!strcmp(n->scalar.text, "None") || !n->scalar.text[0]))
		return false;
	return pw_dec_addr(x, n, out);
}

static void svc_cluster_ip(struct pw_dec *x, const struct pw_ynode *v,
			   void *obj)
{
	struct svc_doc *d = obj;

	d->has_cluster_ip = cluster_ip(x, v, &d->cluster_ip);
}

static void cluster_ip_item(struct pw_dec *x, const struct pw_ynode *n,
			    void *item, void *ctx)
{
	struct pw_service *s = ctx;

	if (cluster_ip(x, n, &s->cluster_ips[s->ncluster_ips]))
		s->ncluster_ips++;
}

static void svc_cluster_ips(struct pw_dec *x, const struct pw_ynode *v,
			    void *obj)
{
	struct pw_service *s = &((struct svc_doc *)obj)->svc;
	size_t n;

	if (v->type == PW_NODE_SEQ && v->seq.n) {
		s->cluster_ips = calloc(v->seq.n, sizeof(*s->cluster_ips));
		if (!s->cluster_ips) {
			x->oom = true;
			return;
		}
	}
	free(pw_dec_array(x, v, 1, &n, cluster_ip_item, s));
}

static const struct pw_field svc_spec_fields[] = {
	{ "selector", svc_selector },
	{ "clusterIP", svc_cluster_ip },
	{ "clusterIPs", svc_cluster_ips },
	{ "ports", svc_ports },
	{ "type", NULL },
	{ "externalIPs", NULL },
	{ "externalName", NULL },
	{ "externalTrafficPolicy", NULL },
	{ "internalTrafficPolicy", NULL },
	{ "healthCheckNodePort", NULL },
	{ "loadBalancerIP", NULL },
	{ "loadBalancerSourceRanges", NULL },
	{ "loadBalancerClass", NULL },
	{ "allocateLoadBalancerNodePorts", NULL },
	{ "publishNotReadyAddresses", NULL },
	{ "sessionAffinity", NULL },
	{ "sessionAffinityConfig", NULL },
	{ "ipFamilies", NULL },
	{ "ipFamilyPolicy", NULL },
	{ "trafficDistribution", NULL },
};

static void svc_spec(struct pw_dec *x, const struct pw_ynode *v, void *obj)
{
	PW_DEC_MAP(x, v, svc_spec_fields, obj);
}

static const struct pw_field svc_fields[] = {
	{ "apiVersion", NULL }, { "kind", NULL },   { "metadata", obj_meta },
	{ "spec", svc_spec },	{ "status", NULL },
};

void pw_decode_service(struct pw_dec *x, const struct pw_kind_ops *k,
		       const struct pw_ynode *root)
{
	struct svc_doc d = { 0 };
	struct pw_service *s;

	PW_DEC_MAP(x, root, svc_fields, &d);
	if (!pw_meta_finish(x, root, &d.meta, true) || x->errors ||
	    !pw_dec_ok(x))
		goto out_clear;
	/* clusterIPs, else clusterIP, as the API reads them */
	if (!d.svc.ncluster_ips && d.has_cluster_ip) {
		free(d.svc.cluster_ips);
		d.svc.cluster_ips = malloc(sizeof(*d.svc.cluster_ips));
		if (!d.svc.cluster_ips) {
			x->oom = true;
			goto out_clear;
		}
		d.svc.cluster_ips[0] = d.cluster_ip;
		d.svc.ncluster_ips = 1;
	}
	s = PW_PUSH(x->c->svcs, x->c->nsvcs, x->c->cap_svcs);
	if (!s) {
		x->oom = true;
		goto out_clear;
	}
	*s = d.svc;
	s->ns = d.meta.ns;
	s->name = d.meta.name;
	s->annotations = d.meta.annotations;
	s->pos = root->pos;
	s->name_pos = d.meta.name_pos;
	s->ns_pos = d.meta.ns_pos;
	d.meta.ns = d.meta.name = NULL;
	d.meta.annotations = (struct pw_labels){ 0 };
	memset(&d.svc, 0, sizeof(d.svc));
out_clear:
	pw_service_clear(&d.svc);
	pw_meta_clear(&d.meta);
}
