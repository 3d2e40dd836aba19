// SPDX-License-Identifier: Apache-2.0
/*
 * The flow-log thread: receives verdict events from nflog, folds the
 * identical ones of each one-second window into one line with a count,
 * explains each line with the engine the kernel enforces (snap.h), and
 * writes it. Folding is what makes a flood cheap: an event costs a hash
 * lookup; the engine is asked once per line, at the end of the window.
 *
 * Rate limit without losing counts: a window holds at most `rate` lines
 * with full keys; the events of any new key beyond that fold into
 * coarser keys (fold_level below), so every event is still counted in
 * some line and a window stays bounded. docs/FLOWLOG.md has the details.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <podwall/podwall.h>
#include "flowlog.h"
#include "log.h"
#include "prom.h"

#define WINDOW_NS 1000000000ull
/* Slots of the fold table kept from one window to the next. */
#define FOLD_KEEP 4096
/* Messages read before the loop looks at the clock again. */
#define RECV_BATCH 256

struct fold_key {
	uint8_t verdict, dir, check, proto, family;
	uint8_t level; /* enum fold_level: what was left out */
	uint8_t pad[2];
	uint8_t src[16], dst[16];
	int32_t sport, dport;
};

struct fold {
	struct fold_key k;
	uint64_t count; /* 0: free slot */
	int64_t sec; /* the first event's time */
	uint32_t usec;
};

/* Per-policy counts for --metrics-per-policy (pol_* below). */
struct pol {
	char *name; /* NULL: free slot */
	uint64_t n[2]; /* by enum pw_flow_verdict */
	uint64_t base[2]; /* counted in _other before it had a series */
	bool chosen;
};

struct flowlog {
	struct flowlog_opts o;
	struct snap_slot *enforced;
	struct mnl_socket *nl;
	int stop_fd;
	pthread_t th;
	bool started;
	char host[256]; /* the "node" field without --node */
	FILE *out;
	dev_t dev;
	ino_t ino;

	/* the window being folded (flow thread only) */
	struct fold *tab;
	size_t cap, n, fine;
	uint64_t end_ns;
	uint32_t next_seq;
	bool have_seq;

	/* what /metrics shows, under lock */
	pthread_mutex_t lock;
	uint64_t events[2][PW_DIR_NR]; /* [verdict][direction] */
	uint64_t lost, overruns, lines, write_errors;
	struct pol *pols;
	size_t npols, cappols, nchosen;
	uint64_t other[2];
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* FNV-1a from a seed drawn at start: the keys come from packets, so
 * their slots must not be predictable to whoever sends them. */
static uint64_t hash_seed = 0xcbf29ce484222325ull;

static uint64_t hash(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = hash_seed;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

/* ---- folding --------------------------------------------------------- */

static int fold_grow(struct flowlog *fl)
{
	size_t cap = fl->cap ? 2 * fl->cap : 256;
	struct fold *t = calloc(cap, sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < fl->cap; i++) {
		size_t j = hash(&fl->tab[i].k, sizeof(fl->tab[i].k)) &
			   (cap - 1);

		if (!fl->tab[i].count)
			continue;
		while (t[j].count)
			j = (j + 1) & (cap - 1);
		t[j] = fl->tab[i];
	}
	free(fl->tab);
	fl->tab = t;
	fl->cap = cap;
	return 0;
}

/* The slot of k, or a free slot for it; NULL on ENOMEM. */
static struct fold *fold_find(struct flowlog *fl, const struct fold_key *k)
{
	size_t j;

	if (2 * (fl->n + 1) > fl->cap && fold_grow(fl))
		return NULL;
	j = hash(k, sizeof(*k)) & (fl->cap - 1);
	while (fl->tab[j].count && memcmp(&fl->tab[j].k, k, sizeof(*k)))
		j = (j + 1) & (fl->cap - 1);
	return &fl->tab[j];
}

/*
 * Coarser keys, taken in turn as the window fills up: past `rate` lines a
 * new key leaves out the source port; past 4 * rate lines the destination
 * and its port too ("dst": "*"); past 8 * rate lines the source as well.
 * The last level has a few dozen keys at most, so a window holds a
 * bounded number of lines whatever a scan or a flood sends, and every
 * event still counts in one of them.
 */
enum fold_level {
	FOLD_EXACT,
	FOLD_SPORT,
	FOLD_DST,
	FOLD_ALL,
};

static enum fold_level fold_level(const struct flowlog *fl)
{
	if (fl->n >= 8 * (size_t)fl->o.rate)
		return FOLD_ALL;
	if (fl->n >= 4 * (size_t)fl->o.rate)
		return FOLD_DST;
	return fl->fine >= fl->o.rate ? FOLD_SPORT : FOLD_EXACT;
}

static void coarsen(struct fold_key *k, enum fold_level level)
{
	k->level = (uint8_t)level;
	k->sport = -1;
	if (level >= FOLD_DST) {
		memset(k->dst, 0, sizeof(k->dst));
		k->dport = -1;
	}
	if (level >= FOLD_ALL) {
		memset(k->src, 0, sizeof(k->src));
		k->family = 0;
	}
}

static void fold_add(struct flowlog *fl, const struct flow_event *ev)
{
	struct fold_key k = {
		.verdict = ev->verdict,
		.dir = ev->dir,
		.check = ev->check,
		.proto = ev->proto,
		.family = ev->family,
		.sport = ev->sport,
		.dport = ev->dport,
	};
	enum fold_level level;
	struct fold *s;

	memcpy(k.src, ev->src, sizeof(k.src));
	memcpy(k.dst, ev->dst, sizeof(k.dst));
	s = fold_find(fl, &k);
	if (s && !s->count) {
		level = fold_level(fl);
		if (level == FOLD_EXACT) {
			fl->fine++;
		} else {
			coarsen(&k, level);
			s = fold_find(fl, &k);
		}
	}
	if (!s) {
		pthread_mutex_lock(&fl->lock);
		fl->lost++;
		pthread_mutex_unlock(&fl->lock);
		return;
	}
	if (!s->count) {
		s->k = k;
		s->sec = ev->sec;
		s->usec = ev->usec;
		if (!fl->n++) /* the first line opens the window */
			fl->end_ns = now_ns() + WINDOW_NS;
	}
	s->count++;
}

/* ---- explaining -------------------------------------------------------- */

/* "ns/name" of a known pod, else the address; NULL when unresolved. */
static struct pw_endpoints *resolve(struct snap *s, const char *ip,
				    const char **name)
{
	struct pw_endpoints *eps = NULL;

	if (s && strcmp(ip, "*")) /* "*": many addresses, folded */
		eps = pw_engine_resolve(snap_engine(s), ip);

	*name = eps && pw_endpoints_count(eps) ? pw_endpoints_name(eps, 0) : ip;
	return eps;
}

static bool is_pod(const char *name)
{
	return strchr(name, '/') != NULL;
}

/* policy and rule of the first rule of side d that allowed v; policies
 * isolating side d when it denied. */
static int attribute(struct pw_flow *f, const struct pw_verdict *v,
		     enum pw_dir d, bool icmp)
{
	char name[512];
	int ret = 0;

	for (size_t i = 0; i < pw_verdict_policy_count(v, d) && !ret; i++) {
		int rule, peer, port;

		snprintf(name, sizeof(name), "%s/%s",
			 pw_verdict_policy_namespace(v, d, i),
			 pw_verdict_policy_name(v, d, i));
		if (pw_flow_verdict(f) == PW_FLOW_DENIED) {
			ret = pw_flow_add_policy(f, name);
			continue;
		}
		pw_verdict_policy_match(v, d, i, &rule, &peer, &port);
		/* ICMP was judged as a port-less packet: only a rule
		 * without ports can have allowed it. */
		if (rule < 0 || (icmp && port >= 0))
			continue;
		ret = pw_flow_set_str(f, PW_FLOW_POLICY, name);
		if (!ret)
			ret = pw_flow_set_num(f, PW_FLOW_RULE, rule);
		break;
	}
	return ret;
}

static int explain(struct snap *s, const struct fold *e, struct pw_flow *f,
		   struct pw_endpoints *from, struct pw_endpoints *to)
{
	struct pw_port port = { .num = 1, .proto = PW_PROTO_TCP };
	struct pw_verdict *v;
	bool icmp = e->k.proto >= PW_FLOW_ICMP;
	int ret;

	if (!s || !from || !to || e->k.check != FLOW_CHECK_POLICY)
		return 0;
	if (!icmp && e->k.dport > 0) {
		port.num = (uint16_t)e->k.dport;
		port.proto = e->k.proto; /* TCP, UDP, SCTP agree */
	}
	v = pw_engine_explain(snap_engine(s), from, 0, to, 0, &port);
	if (!v)
		return errno == ENOMEM ? -ENOMEM : 0;
	ret = attribute(f, v, (enum pw_dir)e->k.dir, icmp);
	pw_verdict_free(v);
	return ret;
}

/* An address of the line's key; "*" for one that folding left out. */
static void addr_text(const struct fold *e, bool dst, char *out)
{
	int af = e->k.family == 4 ? AF_INET : AF_INET6;

	if (e->k.level >= (dst ? FOLD_DST : FOLD_ALL))
		strcpy(out, "*");
	else
		inet_ntop(af, dst ? e->k.dst : e->k.src, out, INET6_ADDRSTRLEN);
}

static const char *const check_names[] = { "policy", "unknown", "spoof" };

/* The record of one folded line. */
static struct pw_flow *record(const struct flowlog *fl, struct snap *s,
			      const struct fold *e)
{
	char sip[INET6_ADDRSTRLEN], dip[INET6_ADDRSTRLEN];
	struct pw_flow *f = pw_flow_new();
	struct pw_endpoints *from, *to;
	const char *sname, *dname;
	enum pw_dir d = (enum pw_dir)e->k.dir;
	int ret;

	if (!f)
		return NULL;
	addr_text(e, false, sip);
	addr_text(e, true, dip);
	from = resolve(s, sip, &sname);
	to = resolve(s, dip, &dname);
	/* Fail-closed checks both ends: an unknown source was the egress
	 * check, an unknown destination of a known source the ingress. */
	if (e->k.check == FLOW_CHECK_UNKNOWN)
		d = is_pod(sname) ? PW_DIR_INGRESS : PW_DIR_EGRESS;
	ret = pw_flow_set_time(f, e->sec, e->usec) ||
	      pw_flow_set_str(f, PW_FLOW_NODE, fl->o.node) ||
	      pw_flow_set_verdict(f, e->k.verdict) ||
	      pw_flow_set_direction(f, d) ||
	      pw_flow_set_str(f, PW_FLOW_SRC, sname) ||
	      pw_flow_set_str(f, PW_FLOW_DST, dname) ||
	      pw_flow_set_str(f, PW_FLOW_SRC_IP, sip) ||
	      pw_flow_set_str(f, PW_FLOW_DST_IP, dip) ||
	      pw_flow_set_proto(f, e->k.proto) ||
	      pw_flow_set_num(f, PW_FLOW_SPORT, e->k.sport) ||
	      pw_flow_set_num(f, PW_FLOW_DPORT, e->k.dport) ||
	      pw_flow_set_num(f, PW_FLOW_COUNT, (int64_t)e->count) ||
	      pw_flow_set_str(f, PW_FLOW_CHECK, check_names[e->k.check]) ||
	      explain(s, e, f, from, to);
	pw_endpoints_free(from);
	pw_endpoints_free(to);
	if (!ret)
		return f;
	pw_flow_free(f);
	return NULL;
}

/* ---- per-policy counts ------------------------------------------------ */

/*
 * Counting per policy is bounded by --metrics-per-policy N: every policy
 * is counted here (one small entry per policy that had an event), but at
 * most N get a series of their own, the rest sum into policy="_other".
 * A cluster of 13k policies must not mean 50k series in every scrape.
 * After each window, free series go to the policies with the most events
 * so far; a policy keeps its series once it has one. Its series counts
 * from that moment (what came before stays in _other), so every series
 * only grows, as a Prometheus counter must, and together they add up to
 * every event attributed to a policy.
 */
static struct pol *pol_find(struct flowlog *fl, const char *name)
{
	size_t j;

	if (2 * (fl->npols + 1) > fl->cappols) {
		size_t cap = fl->cappols ? 2 * fl->cappols : 64;
		struct pol *t = calloc(cap, sizeof(*t));

		if (!t)
			return NULL;
		for (size_t i = 0; i < fl->cappols; i++) {
			if (!fl->pols[i].name)
				continue;
			j = hash(fl->pols[i].name, strlen(fl->pols[i].name)) &
			    (cap - 1);
			while (t[j].name)
				j = (j + 1) & (cap - 1);
			t[j] = fl->pols[i];
		}
		free(fl->pols);
		fl->pols = t;
		fl->cappols = cap;
	}
	j = hash(name, strlen(name)) & (fl->cappols - 1);
	while (fl->pols[j].name && strcmp(fl->pols[j].name, name))
		j = (j + 1) & (fl->cappols - 1);
	if (!fl->pols[j].name) {
		if (!(fl->pols[j].name = strdup(name)))
			return NULL;
		fl->npols++;
	}
	return &fl->pols[j];
}

static void pol_count(struct flowlog *fl, const char *name,
		      enum pw_flow_verdict v, uint64_t n)
{
	struct pol *p = pol_find(fl, name);

	if (p)
		p->n[v] += n;
	else
		fl->other[v] += n; /* no memory: still counted */
}

static void pol_record(struct flowlog *fl, const struct pw_flow *f)
{
	enum pw_flow_verdict v = pw_flow_verdict(f);
	uint64_t n = (uint64_t)pw_flow_num(f, PW_FLOW_COUNT);

	if (!fl->o.per_policy)
		return;
	if (pw_flow_str(f, PW_FLOW_POLICY))
		pol_count(fl, pw_flow_str(f, PW_FLOW_POLICY), v, n);
	for (size_t i = 0; i < pw_flow_policy_count(f); i++)
		pol_count(fl, pw_flow_policy(f, i), v, n);
}

static int by_events(const void *pa, const void *pb)
{
	const struct pol *a = *(const struct pol *const *)pa;
	const struct pol *b = *(const struct pol *const *)pb;
	uint64_t x = a->n[0] + a->n[1], y = b->n[0] + b->n[1];

	return x > y ? -1 : x < y ? 1 : strcmp(a->name, b->name);
}

/* Gives free series to the unchosen policies with the most events. */
static void pol_choose(struct flowlog *fl)
{
	struct pol **v;
	size_t n = 0;

	if (fl->nchosen >= fl->o.per_policy || fl->nchosen == fl->npols)
		return;
	v = malloc(fl->npols * sizeof(*v));
	if (!v)
		return; /* next window */
	for (size_t i = 0; i < fl->cappols; i++)
		if (fl->pols[i].name && !fl->pols[i].chosen)
			v[n++] = &fl->pols[i];
	qsort(v, n, sizeof(*v), by_events);
	for (size_t i = 0; i < n && fl->nchosen < fl->o.per_policy; i++) {
		v[i]->chosen = true;
		v[i]->base[0] = v[i]->n[0];
		v[i]->base[1] = v[i]->n[1];
		fl->nchosen++;
	}
	free(v);
}

/* ---- the output ------------------------------------------------------ */

/* Opens the log for appending, or again when it was rotated away. */
static int out_open(struct flowlog *fl)
{
	struct stat st;

	if (!strcmp(fl->o.path, "-")) {
		fl->out = stdout;
		return 0;
	}
	if (fl->out && !stat(fl->o.path, &st) && st.st_dev == fl->dev &&
	    st.st_ino == fl->ino)
		return 0;
	if (fl->out)
		fclose(fl->out);
	fl->out = fopen(fl->o.path, "ae");
	if (!fl->out || fstat(fileno(fl->out), &st))
		return -errno;
	fl->dev = st.st_dev;
	fl->ino = st.st_ino;
	return 0;
}

/* 0, or -1 when the line could not be written. */
static int write_line(struct flowlog *fl, const struct pw_flow *f)
{
	char buf[2048], *big = NULL, *p = buf;
	int n = pw_flow_format(f, buf, sizeof(buf)), ret = 0;

	if (n >= (int)sizeof(buf)) {
		big = malloc((size_t)n + 1);
		if (!big)
			return -1;
		pw_flow_format(f, big, (size_t)n + 1);
		p = big;
	}
	if (!fl->out || fwrite(p, 1, (size_t)n, fl->out) != (size_t)n)
		ret = -1;
	free(big);
	return ret;
}

static int by_time(const void *pa, const void *pb)
{
	const struct fold *a = *(const struct fold *const *)pa;
	const struct fold *b = *(const struct fold *const *)pb;

	if (a->sec != b->sec)
		return a->sec < b->sec ? -1 : 1;
	return a->usec < b->usec ? -1 : a->usec > b->usec;
}

/* The window's folded lines in the order of their first events (the
 * table itself is in hash order); NULL on ENOMEM (then hash order). */
static struct fold **in_order(struct flowlog *fl)
{
	struct fold **v = malloc(fl->n * sizeof(*v));
	size_t k = 0;

	if (!v)
		return NULL;
	for (size_t i = 0; i < fl->cap; i++)
		if (fl->tab[i].count)
			v[k++] = &fl->tab[i];
	qsort(v, k, sizeof(*v), by_time);
	return v;
}

/* One line: explained and written without the lock (the engine may
 * take a while), counted under it. */
static void emit(struct flowlog *fl, struct snap *s, struct fold *e)
{
	struct pw_flow *f = record(fl, s, e);
	int wrote = f ? write_line(fl, f) : -1;

	pthread_mutex_lock(&fl->lock);
	if (!f) {
		fl->lost += e->count;
	} else {
		fl->events[e->k.verdict][pw_flow_direction(f)] += e->count;
		pol_record(fl, f);
		if (wrote)
			fl->write_errors++;
		else
			fl->lines++;
	}
	pthread_mutex_unlock(&fl->lock);
	pw_flow_free(f);
	e->count = 0;
}

/* Ends the window: every folded line explained, written and counted. */
static void flush(struct flowlog *fl)
{
	struct fold **v;
	struct snap *s;
	int ret;

	if (!fl->n)
		return;
	s = snap_slot_get(fl->enforced);
	if (s && !snap_engine(s)) { /* ENOMEM: addresses, no names */
		snap_put(s);
		s = NULL;
	}
	ret = out_open(fl);
	if (ret)
		alog("error", "flow-log", "file", fl->o.path, "error",
		     strerror(-ret), NULL);
	v = in_order(fl);
	for (size_t i = 0; v && i < fl->n; i++)
		emit(fl, s, v[i]);
	for (size_t i = 0; !v && i < fl->cap; i++)
		if (fl->tab[i].count)
			emit(fl, s, &fl->tab[i]);
	free(v);
	pthread_mutex_lock(&fl->lock);
	pol_choose(fl);
	if (fl->out && fflush(fl->out))
		fl->write_errors++;
	pthread_mutex_unlock(&fl->lock);
	snap_put(s);
	fl->n = fl->fine = 0;
	if (fl->cap > FOLD_KEEP) { /* a flood's table: give it back */
		free(fl->tab);
		fl->tab = NULL;
		fl->cap = 0;
	}
}

/* ---- the thread --------------------------------------------------------- */

static void on_event(struct flowlog *fl, const struct flow_event *ev)
{
	/* The kernel numbers what it logs: a gap is events it dropped. */
	if (ev->has_seq) {
		if (fl->have_seq && ev->seq != fl->next_seq) {
			pthread_mutex_lock(&fl->lock);
			fl->lost += (uint32_t)(ev->seq - fl->next_seq);
			pthread_mutex_unlock(&fl->lock);
		}
		fl->next_seq = ev->seq + 1;
		fl->have_seq = true;
	}
	if (ev->proto < PW_FLOW_PROTO_NR)
		fold_add(fl, ev);
}

static int on_msg(const struct nlmsghdr *nlh, void *data)
{
	struct flow_event ev;

	if (nflog_event(nlh, &ev) == 1)
		on_event(data, &ev);
	return MNL_CB_OK;
}

/* Reads what the socket holds, a bounded number of messages at a time so
 * that a flood cannot keep the window from closing. */
static void receive(struct flowlog *fl, char *buf, size_t len)
{
	int fd = mnl_socket_get_fd(fl->nl);

	for (int i = 0; i < RECV_BATCH; i++) {
		ssize_t n = recv(fd, buf, len, MSG_DONTWAIT);

		if (n < 0 && errno == ENOBUFS) {
			pthread_mutex_lock(&fl->lock);
			fl->overruns++;
			pthread_mutex_unlock(&fl->lock);
			continue;
		}
		if (n <= 0)
			return;
		mnl_cb_run(buf, (size_t)n, 0, 0, on_msg, fl);
	}
}

static void *run(void *arg)
{
	struct flowlog *fl = arg;
	size_t len = 1 << 16;
	char *buf = malloc(len);
	struct pollfd p[2] = {
		{ .fd = mnl_socket_get_fd(fl->nl), .events = POLLIN },
		{ .fd = fl->stop_fd, .events = POLLIN },
	};

	while (buf) {
		uint64_t now = now_ns();
		int timeout = -1;

		if (fl->n && now >= fl->end_ns)
			flush(fl);
		if (fl->n)
			timeout = (int)((fl->end_ns - now) / 1000000u) + 1;
		if (poll(p, 2, timeout) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			receive(fl, buf, len);
		if (p[1].revents)
			break;
	}
	/* What the kernel logged before the stop may still be batched
	 * there for NFLOG_DELAY_MS. */
	for (uint64_t end = now_ns() + (NFLOG_DELAY_MS + 50) * 1000000ull;
	     buf && now_ns() < end && poll(p, 1, NFLOG_DELAY_MS + 50) > 0;)
		receive(fl, buf, len);
	flush(fl);
	free(buf);
	return NULL;
}

/* What to do when the nflog group cannot be bound. */
static const char *bind_hint(int err)
{
	static const struct {
		int err;
		const char *hint;
	} hints[] = {
		/* the kernel says EPERM for both */
		{ EPERM, "run as root (CAP_NET_ADMIN in this network "
			 "namespace); if it is, another process reads this "
			 "nflog group: choose another with --flow-log-group" },
	};

	for (size_t i = 0; i < sizeof(hints) / sizeof(hints[0]); i++)
		if (hints[i].err == err)
			return hints[i].hint;
	return "the kernel needs nfnetlink_log (CONFIG_NETFILTER_NETLINK_LOG)";
}

struct flowlog *flowlog_new(const struct flowlog_opts *o,
			    struct snap_slot *enforced)
{
	struct flowlog *fl = calloc(1, sizeof(*fl));
	int ret;

	if (!fl)
		return NULL;
	fl->o = *o;
	fl->enforced = enforced;
	if (getrandom(&hash_seed, sizeof(hash_seed), GRND_NONBLOCK) !=
	    sizeof(hash_seed))
		hash_seed ^= now_ns(); /* no entropy yet: the clock */
	if (!fl->o.node) {
		if (gethostname(fl->host, sizeof(fl->host) - 1))
			strcpy(fl->host, "unknown");
		fl->o.node = fl->host;
	}
	fl->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pthread_mutex_init(&fl->lock, NULL);
	ret = fl->stop_fd < 0 ? -errno : out_open(fl);
	if (ret) {
		alog("error", "flow-log", "file", o->path, "error",
		     strerror(-ret), NULL);
		goto err_free;
	}
	fl->nl = nflog_open(o->group);
	if (!fl->nl) {
		ret = -errno;
		alog("error", "flow-log", "nflog", "bind", "error",
		     strerror(-ret), "hint", bind_hint(-ret), NULL);
		goto err_free;
	}
	return fl;

err_free:
	flowlog_free(fl);
	errno = -ret;
	return NULL;
}

int flowlog_start(struct flowlog *fl)
{
	int ret = pthread_create(&fl->th, NULL, run, fl);

	fl->started = !ret;
	return -ret;
}

void flowlog_free(struct flowlog *fl)
{
	if (!fl)
		return;
	if (fl->started) {
		uint64_t one = 1;

		if (write(fl->stop_fd, &one, sizeof(one)) == sizeof(one))
			pthread_join(fl->th, NULL);
	}
	if (fl->nl)
		mnl_socket_close(fl->nl);
	if (fl->stop_fd >= 0)
		close(fl->stop_fd);
	if (fl->out && fl->out != stdout)
		fclose(fl->out);
	for (size_t i = 0; i < fl->cappols; i++)
		free(fl->pols[i].name);
	free(fl->pols);
	free(fl->tab);
	pthread_mutex_destroy(&fl->lock);
	free(fl);
}

/* ---- /metrics ---------------------------------------------------------- */

/* The kernel's named counters (docs/DATAPATH.md) and the series each
 * becomes, grouped by metric. */
static const struct {
	const char *counter, *metric, *label, *value, *help;
} kernel_series[] = {
	{ "denied_ingress", "podwall_packets_denied_total", "check", "ingress",
	  "Packets dropped by each check of the table: ingress, egress "
	  "(no rule admitted), unknown (fail-closed), spoof." },
	{ "denied_egress", "podwall_packets_denied_total", "check", "egress",
	  NULL },
	{ "denied_unknown", "podwall_packets_denied_total", "check", "unknown",
	  NULL },
	{ "denied_spoof", "podwall_packets_denied_total", "check", "spoof",
	  NULL },
	{ "allowed_ingress", "podwall_connections_allowed_total", "direction",
	  "ingress",
	  "Packets admitted by a local pod's class chain: first packets "
	  "of connections (and unanswered UDP), by direction." },
	{ "allowed_egress", "podwall_connections_allowed_total", "direction",
	  "egress", NULL },
};

/* A counter the table lacks has no series (not counted is not zero). */
static void kernel_counters(FILE *f)
{
	struct pw_counters *c = pw_counters_read();
	uint64_t v;

	for (size_t i = 0; i < sizeof(kernel_series) / sizeof(kernel_series[0]);
	     i++) {
		if (kernel_series[i].help)
			metric_help(f, kernel_series[i].metric, "counter",
				    kernel_series[i].help);
		if (c && pw_counters_get(c, kernel_series[i].counter, &v, NULL))
			fprintf(f, "%s{%s=\"%s\"} %llu\n",
				kernel_series[i].metric, kernel_series[i].label,
				kernel_series[i].value, (unsigned long long)v);
	}
	pw_counters_free(c);
}

static void per_policy(FILE *f, const struct flowlog *fl)
{
	metric_help(
		f, "podwall_policy_verdicts_total", "counter",
		"Flow-log events attributed to a policy (the rule's policy when "
		"allowed, each isolating policy when denied); at most "
		"--metrics-per-policy policies, the rest in policy=\"_other\".");
	for (size_t i = 0; i < fl->cappols; i++) {
		const struct pol *p = &fl->pols[i];

		for (int v = 0; p->name && p->chosen && v < 2; v++) {
			fputs("podwall_policy_verdicts_total{policy=\"", f);
			metric_label(f, p->name);
			fprintf(f, "\",verdict=\"%s\"} %llu\n",
				pw_flow_verdict_name(v),
				(unsigned long long)(p->n[v] - p->base[v]));
		}
	}
	for (int v = 0; v < 2; v++) {
		uint64_t other = fl->other[v];

		for (size_t i = 0; i < fl->cappols; i++)
			if (fl->pols[i].name)
				other += fl->pols[i].chosen ?
						 fl->pols[i].base[v] :
						 fl->pols[i].n[v];
		fprintf(f,
			"podwall_policy_verdicts_total{policy=\"_other\","
			"verdict=\"%s\"} %llu\n",
			pw_flow_verdict_name(v), (unsigned long long)other);
	}
}

static void flow_counters(FILE *f, struct flowlog *fl)
{
	metric_help(
		f, "podwall_flow_events_total", "counter",
		"Verdict events received from the kernel (folded ones included), "
		"by verdict and direction.");
	for (int v = 0; v < 2; v++)
		for (int d = 0; d < PW_DIR_NR; d++)
			fprintf(f,
				"podwall_flow_events_total{verdict=\"%s\","
				"direction=\"%s\"} %llu\n",
				pw_flow_verdict_name(v),
				pw_dir_name((enum pw_dir)d),
				(unsigned long long)fl->events[v][d]);
	metric_help(
		f, "podwall_flow_events_lost_total", "counter",
		"Verdict events lost: dropped by the kernel when the socket "
		"overran (sequence gaps), or for lack of memory.");
	fprintf(f, "podwall_flow_events_lost_total %llu\n",
		(unsigned long long)fl->lost);
	metric_help(f, "podwall_flow_log_overruns_total", "counter",
		    "Times the nflog socket overran (ENOBUFS).");
	fprintf(f, "podwall_flow_log_overruns_total %llu\n",
		(unsigned long long)fl->overruns);
	metric_help(f, "podwall_flow_log_lines_total", "counter",
		    "Lines written to the flow log.");
	fprintf(f, "podwall_flow_log_lines_total %llu\n",
		(unsigned long long)fl->lines);
	metric_help(f, "podwall_flow_log_write_errors_total", "counter",
		    "Lines that could not be written to the flow log.");
	fprintf(f, "podwall_flow_log_write_errors_total %llu\n",
		(unsigned long long)fl->write_errors);
	if (fl->o.per_policy)
		per_policy(f, fl);
}

void flowlog_metrics(struct flowlog *fl, FILE *f)
{
	kernel_counters(f);
	if (!fl)
		return;
	pthread_mutex_lock(&fl->lock);
	flow_counters(f, fl);
	pthread_mutex_unlock(&fl->lock);
}

/* ---- options ----------------------------------------------------------- */

void flowlog_opts_init(struct flowlog_opts *o)
{
	o->group = FLOWLOG_GROUP_DEFAULT;
	o->rate = FLOWLOG_RATE_DEFAULT;
}

static bool number(const char *s, unsigned long min, unsigned long max,
		   unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	return !errno && end != s && !*end && *s != '-' && *out >= min &&
	       *out <= max;
}

int flowlog_opt(struct flowlog_opts *o, int c, const char *arg)
{
	static const struct {
		int opt;
		unsigned long min, max;
		const char *what;
	} nums[] = {
		{ OPT_FLOW_LOG_GROUP, 0, 65535,
		  "--flow-log-group takes 0 to 65535" },
		{ OPT_FLOW_LOG_RATE, 1, 1000000,
		  "--flow-log-rate takes 1 to 1000000 lines per second" },
		{ OPT_METRICS_PER_POLICY, 0, 10000,
		  "--metrics-per-policy takes 0 to 10000 policies" },
	};
	unsigned long v;

	if (c == OPT_FLOW_LOG) {
		o->path = arg;
		return 0;
	}
	if (c == OPT_FLOW_LOG_ALLOWED) {
		o->allowed = true;
		return 0;
	}
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		if (nums[i].opt != c)
			continue;
		if (!number(arg, nums[i].min, nums[i].max, &v)) {
			fprintf(stderr, "podwalld: %s\n", nums[i].what);
			return -1;
		}
		if (c == OPT_FLOW_LOG_GROUP)
			o->group = (uint16_t)v;
		else if (c == OPT_FLOW_LOG_RATE)
			o->rate = (unsigned)v;
		else
			o->per_policy = (unsigned)v;
		return 0;
	}
	return -1;
}
