// SPDX-License-Identifier: Apache-2.0
/*
 * podwalld: enforces the NetworkPolicies of a cluster on this node.
 *
 * One epoll loop runs the agent: source events (evq), the manifests
 * watch (inotify), the settle timer (timerfd), signals (signalfd) and
 * the metrics server. docs/AGENT.md describes it for operators.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"

/* Coalescing: a reconcile runs SETTLE_NS after the last event of a
 * burst, and at the latest SETTLE_MAX_NS after its first, so a steady
 * stream of events cannot starve enforcement. */
#define SETTLE_NS (5 * 1000000ull)
#define SETTLE_MAX_NS (50 * 1000000ull)
/* How often the table is read back and checked (--verify-interval). */
#define VERIFY_DEFAULT_S 60
/* How often conntrack is swept besides after changes (--ct-sweep-interval):
 * the bound for a connection that raced a transaction (docs/AGENT.md). */
#define CT_SWEEP_DEFAULT_S 10
/* After a failed kernel transaction: retry, backing off. */
#define RETRY_MIN_NS (500 * 1000000ull)
#define RETRY_MAX_NS (30 * 1000000000ull)

struct loop {
	int ep;
	bool stop;
};

int loop_add(struct loop *l, int fd, uint32_t events, struct handler *h)
{
	struct epoll_event ev = { .events = events, .data.ptr = h };

	return epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

int loop_mod(struct loop *l, int fd, uint32_t events, struct handler *h)
{
	struct epoll_event ev = { .events = events, .data.ptr = h };

	return epoll_ctl(l->ep, EPOLL_CTL_MOD, fd, &ev) ? -errno : 0;
}

void loop_del(struct loop *l, int fd)
{
	epoll_ctl(l->ep, EPOLL_CTL_DEL, fd, NULL);
}

struct daemon {
	struct agent a;
	struct loop l;
	struct handler evq_h, timer_h, verify_h, sig_h, src_h[2];
	int timer_fd, verify_fd, sig_fd;
	unsigned verify_s;
	unsigned ct_sweep_s; /* --ct-sweep-interval, 0: after changes only */
	bool no_ct_sweep;
	uint64_t retry_ns;
	struct http *http;
	struct routes *routes; /* route and link changes: rebind (routes.c) */
};

static void arm(struct daemon *d, uint64_t at_ns)
{
	struct itimerspec its = {
		.it_value = { .tv_sec = (time_t)(at_ns / 1000000000u),
			      .tv_nsec = (long)(at_ns % 1000000000u) },
	};

	if (!at_ns)
		its.it_value.tv_nsec = 0; /* disarm */
	timerfd_settime(d->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* The end of a burst that began at first and was last seen at last. */
static uint64_t settle_at(uint64_t first, uint64_t last)
{
	uint64_t at = last + SETTLE_NS, now = mono_ns();

	if (first && at > first + SETTLE_MAX_NS)
		at = first + SETTLE_MAX_NS;
	return at > now ? at : now + 1;
}

/*
 * When the store needs enforcing: settle, or retry after a failure; or,
 * with the store enforced, when routes changed: the same settling, so a
 * network plugin wiring a pod (link, address, routes) binds once.
 */
static void schedule(struct daemon *d)
{
	struct agent *a = &d->a;

	if (!agent_synced(a))
		return;
	if (!a->dirty) {
		if (a->rebind_first_ns)
			arm(d,
			    settle_at(a->rebind_first_ns, a->rebind_last_ns));
		return;
	}
	if (a->apply_failed) {
		struct itimerspec cur;

		/* A retry already due is not pushed back by new events. */
		if (!timerfd_gettime(d->timer_fd, &cur) &&
		    (cur.it_value.tv_sec || cur.it_value.tv_nsec))
			return;
		arm(d, mono_ns() + d->retry_ns);
		return;
	}
	arm(d, settle_at(a->first_ns, a->last_ns));
}

static void on_evq(struct handler *h, uint32_t events)
{
	struct daemon *d = container_of(h, struct daemon, evq_h);
	struct evq_item *all = evq_take(d->a.q);

	for (struct evq_item *it = all; it; it = it->next)
		agent_event(&d->a, it);
	evq_item_free(all);
	schedule(d);
}

static void on_timer(struct handler *h, uint32_t events)
{
	struct daemon *d = container_of(h, struct daemon, timer_h);
	uint64_t n;

	if (read(d->timer_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	if (!agent_synced(&d->a))
		return;
	if (!d->a.dirty) {
		if (d->a.rebind_first_ns)
			agent_rebind(&d->a); /* on failure: dirty, retried */
		schedule(d);
		return;
	}
	if (agent_reconcile(&d->a) && d->a.apply_failed) {
		d->retry_ns = d->retry_ns ? 2 * d->retry_ns : RETRY_MIN_NS;
		if (d->retry_ns > RETRY_MAX_NS)
			d->retry_ns = RETRY_MAX_NS;
	} else {
		d->retry_ns = RETRY_MIN_NS;
	}
	schedule(d);
}

static void on_verify(struct handler *h, uint32_t events)
{
	struct daemon *d = container_of(h, struct daemon, verify_h);
	uint64_t n;

	if (read(d->verify_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	if (agent_verify(&d->a))
		schedule(d);
}

static int arm_verify(struct daemon *d)
{
	struct itimerspec its = {
		.it_value = { .tv_sec = d->verify_s },
		.it_interval = { .tv_sec = d->verify_s },
	};

	d->verify_h.fn = on_verify;
	if (timerfd_settime(d->verify_fd, 0, &its, NULL))
		return -errno;
	return loop_add(&d->l, d->verify_fd, EPOLLIN, &d->verify_h);
}

static void on_routes(void *arg, unsigned int n)
{
	struct daemon *d = arg;
	uint64_t now = mono_ns();

	d->a.m.route_changes += n;
	if (!d->a.rebind_first_ns)
		d->a.rebind_first_ns = now;
	d->a.rebind_last_ns = now;
	schedule(d);
}

static void on_signal(struct handler *h, uint32_t events)
{
	struct daemon *d = container_of(h, struct daemon, sig_h);
	struct signalfd_siginfo si;
	char num[16];

	if (read(d->sig_fd, &si, sizeof(si)) != sizeof(si))
		return;
	snprintf(num, sizeof(num), "%u", si.ssi_signo);
	alog("info", "exit", "signal", num, "table", "left in force", NULL);
	d->l.stop = true;
}

static void on_src(struct daemon *d, size_t i)
{
	struct src *s = d->a.srcs[i];
	int ret = s->ops->dispatch(s);

	if (ret)
		alog("error", "source", "source", s->ops->name, "error",
		     strerror(-ret), NULL);
}

static void on_src0(struct handler *h, uint32_t events)
{
	on_src(container_of(h, struct daemon, src_h[0]), 0);
}

static void on_src1(struct handler *h, uint32_t events)
{
	on_src(container_of(h, struct daemon, src_h[1]), 1);
}

static void (*const src_handlers[2])(struct handler *, uint32_t) = {
	on_src0,
	on_src1,
};

static int setup_fds(struct daemon *d)
{
	sigset_t mask;
	int ret;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	if (sigprocmask(SIG_BLOCK, &mask, NULL))
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	d->sig_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	d->timer_fd =
		timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	d->verify_fd =
		timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	d->l.ep = epoll_create1(EPOLL_CLOEXEC);
	if (d->sig_fd < 0 || d->timer_fd < 0 || d->verify_fd < 0 || d->l.ep < 0)
		return -errno;
	d->evq_h.fn = on_evq;
	d->timer_h.fn = on_timer;
	d->sig_h.fn = on_signal;
	ret = loop_add(&d->l, evq_fd(d->a.q), EPOLLIN, &d->evq_h);
	if (!ret)
		ret = loop_add(&d->l, d->timer_fd, EPOLLIN, &d->timer_h);
	if (!ret)
		ret = loop_add(&d->l, d->sig_fd, EPOLLIN, &d->sig_h);
	return ret ? ret : arm_verify(d);
}

/* Starts the sources; a source driven by the loop gets its fd polled. */
static int start_sources(struct daemon *d)
{
	for (size_t i = 0; i < d->a.nsrcs; i++) {
		struct src *s = d->a.srcs[i];
		int ret = s->ops->start(s, evq_emit, d->a.q);

		if (ret) {
			alog("error", "start", "source", s->ops->name, "error",
			     strerror(-ret), NULL);
			return ret;
		}
		if (s->ops->fd && s->ops->fd(s) >= 0) {
			d->src_h[i].fn = src_handlers[i];
			ret = loop_add(&d->l, s->ops->fd(s), EPOLLIN,
				       &d->src_h[i]);
			if (ret)
				return ret;
		}
	}
	return 0;
}

static void run(struct daemon *d)
{
	struct epoll_event ev[32];

	while (!d->l.stop) {
		int n = epoll_wait(d->l.ep, ev, 32, -1);

		if (n < 0 && errno != EINTR) {
			alog("error", "loop", "error", strerror(errno), NULL);
			return;
		}
		for (int i = 0; i < n && !d->l.stop; i++) {
			struct handler *h = ev[i].data.ptr;

			h->fn(h, ev[i].events);
		}
	}
}

static void usage(FILE *f)
{
	fputs("usage: podwalld (--manifests DIR | --kubeconfig FILE) "
	      "[--node NAME] [--metrics-addr HOST:PORT]\n"
	      "                [--verify-interval SECONDS]\n"
	      "                [--ct-sweep-interval SECONDS | --no-ct-sweep]\n"
	      "                [--pod-cidr CIDR]... [--ct-mark-mask MASK]\n" FLOWLOG_USAGE
	      "Enforces the NetworkPolicies of the manifests in DIR (watched "
	      "for changes), or of\nthe Kubernetes API (--kubeconfig, or "
	      "in-cluster with neither option), in the\ncurrent network "
	      "namespace. See docs/AGENT.md.\n",
	      f);
}

static const struct option opts[] = {
	{ "manifests", required_argument, NULL, 'm' },
	{ "kubeconfig", required_argument, NULL, 'k' },
	{ "node", required_argument, NULL, 'n' },
	{ "metrics-addr", required_argument, NULL, 'a' },
	{ "verify-interval", required_argument, NULL, 'v' },
	{ "ct-sweep-interval", required_argument, NULL, 'c' },
	{ "no-ct-sweep", no_argument, NULL, 'C' },
	{ "pod-cidr", required_argument, NULL, 'p' },
	{ "ct-mark-mask", required_argument, NULL, 'M' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	FLOWLOG_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

/* One source, named or implied; -1 when the options do not say. */
static int check_args(const struct agent *a, int argc)
{
	if (optind < argc) {
		fputs("podwalld: unexpected argument\n", stderr);
		return -1;
	}
	if (a->cfg.manifests && a->cfg.kubeconfig) {
		fputs("podwalld: --manifests and --kubeconfig exclude each "
		      "other\n",
		      stderr);
		return -1;
	}
	if (!a->cfg.manifests && !a->cfg.kubeconfig &&
	    !getenv("KUBERNETES_SERVICE_HOST")) {
		fputs("podwalld: no source: --manifests DIR, --kubeconfig FILE, "
		      "or run in a pod\n",
		      stderr);
		return -1;
	}
	return 0;
}

/* Seconds, 1 to a day. */
static bool parse_interval(const char *s, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > 86400)
		return false;
	*out = (unsigned)v;
	return true;
}

/*
 * Whether text is a CIDR the datapath takes, asked of the datapath itself
 * (a ruleset of an empty cluster), so the agent accepts exactly what
 * `podwall apply --pod-cidr` does.
 */
static bool cidr_ok(const char *text)
{
	struct pw_cluster *c = pw_cluster_new();
	struct pw_diags *d = pw_diags_new();
	struct pw_engine *e = NULL;
	struct pw_ruleset *rs = NULL;
	bool ok = false;

	if (c && d && !pw_cluster_finalize(c, d))
		e = pw_engine_new(c);
	if (e)
		rs = pw_ruleset_new(e, NULL);
	if (rs)
		ok = !pw_ruleset_add_pod_cidr(rs, text);
	pw_ruleset_free(rs);
	pw_engine_free(e);
	pw_diags_free(d);
	pw_cluster_free(c);
	return ok;
}

static int ct_mark_opt(struct agent *a, const char *text)
{
	if (pw_ct_mark_mask_parse(text, &a->ct_mark_mask)) {
		fputs("podwalld: --ct-mark-mask: one run of bits of a 32-bit "
		      "mark (e.g. 0x0fff0000), or 0, not ",
		      stderr);
		fputs(text, stderr);
		fputc('\n', stderr);
		return -1;
	}
	return 0;
}

static int pod_cidr_opt(struct agent *a, const char *text)
{
	if (a->npod_cidrs == AGENT_MAX_POD_CIDRS) {
		fprintf(stderr, "podwalld: at most %d --pod-cidr\n",
			AGENT_MAX_POD_CIDRS);
		return -1;
	}
	if (!cidr_ok(text)) {
		fputs("podwalld: --pod-cidr: not a CIDR: ", stderr);
		fputs(text, stderr);
		fputc('\n', stderr);
		return -1;
	}
	a->pod_cidrs[a->npod_cidrs++] = text;
	return 0;
}

/* 0 to run, 1 done (help/version), -1 usage error. */
static int parse_args(struct daemon *d, int argc, char **argv)
{
	struct agent *a = &d->a;
	int c;

	a->metrics_addr = "127.0.0.1:9469";
	d->verify_s = VERIFY_DEFAULT_S;
	d->ct_sweep_s = CT_SWEEP_DEFAULT_S;
	a->ct_mark_mask = PW_CT_MARK_MASK_DEFAULT;
	flowlog_opts_init(&a->flow);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			a->cfg.manifests = optarg;
			break;
		case 'k':
			a->cfg.kubeconfig = optarg;
			break;
		case 'n':
			a->cfg.node = optarg;
			break;
		case 'a':
			a->metrics_addr = optarg;
			break;
		case 'v':
			if (!parse_interval(optarg, &d->verify_s)) {
				fputs("podwalld: --verify-interval takes 1 to "
				      "86400 seconds\n",
				      stderr);
				return -1;
			}
			break;
		case 'c':
			if (strcmp(optarg, "0") &&
			    !parse_interval(optarg, &d->ct_sweep_s)) {
				fputs("podwalld: --ct-sweep-interval takes 0 to "
				      "86400 seconds\n",
				      stderr);
				return -1;
			}
			if (!strcmp(optarg, "0"))
				d->ct_sweep_s = 0;
			break;
		case 'C':
			d->no_ct_sweep = true;
			break;
		case 'p':
			if (pod_cidr_opt(a, optarg))
				return -1;
			break;
		case 'M':
			if (ct_mark_opt(a, optarg))
				return -1;
			break;
		case 'h':
			usage(stdout);
			return 1;
		case 'V':
			printf("podwalld %s\n", pw_version());
			return 1;
		default:
			if (flowlog_opt(&a->flow, c, optarg))
				return -1;
		}
	}
	return check_args(a, argc);
}

/*
 * The sources, and the kinds each must have listed before the first
 * transaction: applying a half-listed cluster would open the pods whose
 * policies were not read yet.
 */
static const char *const dir_kinds[] = { "File" };
static const char *const kube_kinds[] = { "Namespace", "Pod", "NetworkPolicy" };

static const struct source_type {
	struct src *(*create)(const struct src_config *cfg);
	const char *const *kinds;
	size_t nkinds;
} dir_type = { dir_src_new, dir_kinds, 1 },
  kube_type = { kube_src_new, kube_kinds, 3 };

static int setup(struct daemon *d)
{
	struct agent *a = &d->a;
	const struct source_type *t = a->cfg.manifests ? &dir_type : &kube_type;
	int ret;

	metrics_init(&a->m);
	a->q = evq_new();
	a->st = store_new();
	a->enforced = snap_slot_new();
	a->live = pw_live_new(a->cfg.node);
	if (!a->q || !a->st || !a->enforced || !a->live)
		return -ENOMEM;
	a->srcs[0] = t->create(&a->cfg);
	if (!a->srcs[0])
		return errno ? -errno : -EINVAL; /* logged by the source */
	a->nsrcs = 1;
	a->need_sync = t->kinds;
	a->nneed = t->nkinds;
	ret = setup_fds(d);
	if (ret)
		return ret;
	if (a->flow.path) {
		a->flow.node = a->cfg.node;
		a->flowlog = flowlog_new(&a->flow, a->enforced);
		ret = a->flowlog ? flowlog_start(a->flowlog) : -errno;
		if (ret)
			return ret;
	}
	if (!d->no_ct_sweep) {
		a->ct = ctsweep_new(a->enforced, a->cfg.node, d->ct_sweep_s);
		if (!a->ct)
			return -errno;
	}
	d->routes = routes_new(&d->l, on_routes, d);
	if (!d->routes) {
		alog("error", "routes", "error", strerror(errno), "hint",
		     "cannot watch the routes to the pods (rtnetlink)", NULL);
		return -errno;
	}
	d->http = http_new(a->metrics_addr, a, &d->l);
	if (!d->http) {
		alog("error", "metrics", "addr", a->metrics_addr, "error",
		     strerror(errno), NULL);
		return -errno;
	}
	return start_sources(d);
}

static void teardown(struct daemon *d)
{
	struct agent *a = &d->a;

	for (size_t i = 0; i < a->nsrcs; i++)
		a->srcs[i]->ops->free(a->srcs[i]);
	http_free(d->http);
	routes_free(d->routes);
	flowlog_free(a->flowlog); /* writes what it folded */
	ctsweep_free(a->ct); /* before the snapshot it reads goes */
	pw_ruleset_free(a->applied);
	pw_live_free(a->live); /* before the cluster it borrows goes */
	snap_put(a->compiled);
	snap_slot_free(a->enforced);
	free(a->pending);
	store_free(a->st);
	evq_free(a->q);
	if (d->timer_fd >= 0)
		close(d->timer_fd);
	if (d->verify_fd >= 0)
		close(d->verify_fd);
	if (d->sig_fd >= 0)
		close(d->sig_fd);
	if (d->l.ep >= 0)
		close(d->l.ep);
}

int main(int argc, char **argv)
{
	struct daemon d = {
		.timer_fd = -1, .verify_fd = -1, .sig_fd = -1, .l.ep = -1
	};
	int ret = parse_args(&d, argc, argv);

	if (ret) {
		if (ret < 0)
			usage(stderr);
		return ret < 0 ? 2 : 0;
	}
	d.retry_ns = RETRY_MIN_NS;
	ret = setup(&d);
	if (!ret) {
		alog("info", "start", "manifests", d.a.cfg.manifests,
		     "kubeconfig", d.a.cfg.kubeconfig, "node", d.a.cfg.node,
		     "metrics", d.a.metrics_addr, NULL);
		run(&d);
	}
	teardown(&d);
	return ret ? 2 : 0;
}
