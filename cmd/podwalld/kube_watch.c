// SPDX-License-Identifier: Apache-2.0
/*
 * List, then watch, each kind over one libcurl multi handle.
 *
 * Each kind is a small state machine (struct res):
 *
 *   LIST --last page--> WATCH --stream ends cleanly--> WATCH (same rv)
 *     ^                   |--dropped, 5xx, 429, bad line--> WAIT --> WATCH
 *     |                   '--410 Gone (HTTP or ERROR event)--> LIST
 *     '--error-- WAIT <---'
 *
 * A list emits SRC_RESET with its first page, SRC_UPSERT per item and
 * SRC_SYNCED after its last page; the watch then starts from the list's
 * resourceVersion and every event or bookmark moves it on, so that a new
 * watch after a dropped connection misses nothing and replays nothing
 * the agent has not seen. Errors wait (exponential backoff with jitter,
 * capped, or the server's Retry-After when longer) before the next try.
 *
 * The loop: curl's sockets and two timerfds (curl's timeout, the earliest
 * end of a WAIT) sit in one epoll set, whose fd the caller polls.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "kube.h"

/* A list page or an error body larger than this is refused. */
#define BODY_MAX (256u << 20)
/* So is a watch line (the API server's objects are at most ~1.5 MiB). */
#define LINE_MAX_BYTES (32u << 20)
/* Error bodies are only kept for the log. */
#define ERR_BODY_MAX 4096u
/* A watch that ends sooner than this without an event is a failure:
 * watching again at once could spin against a broken server or proxy. */
#define WATCH_MIN_MS 1000
/* Buffers grown beyond this are given back after their transfer. */
#define BUF_KEEP (1u << 20)
/* Retry-After beyond this is not believed. */
#define RETRY_AFTER_MAX_MS 300000u

static const struct kube_kind kinds[] = {
	{ "Namespace", "v1", "/api/v1/namespaces", "namespaces", false },
	{ "NetworkPolicy", "networking.k8s.io/v1",
	  "/apis/networking.k8s.io/v1/networkpolicies", "networkpolicies",
	  true },
	{ "Pod", "v1", "/api/v1/pods", "pods", true },
};
#define NKINDS KUBE_ARRAY_SIZE(kinds)

enum res_state {
	RS_IDLE,
	RS_LIST, /* a list request is in flight */
	RS_WATCH, /* a watch stream is open */
	RS_WAIT, /* backing off until due */
};

/* Why a transfer was cut short by the write callback. */
enum res_fail {
	F_NONE,
	F_BAD, /* a line that is not an event, or too long */
	F_GONE, /* ERROR 410 */
	F_ERROR, /* another ERROR event */
	F_NOMEM,
};

struct buf {
	char *p;
	size_t len, cap;
};

struct res {
	struct kube_watch *w;
	const struct kube_kind *k;
	enum res_state state;
	bool relist; /* the next request is a list */
	bool listed; /* a list has completed since the last relist began */
	bool reset_sent; /* SRC_RESET emitted for the list in progress */
	char *rv, *cont;
	CURL *easy;
	struct curl_slist *hdrs;
	struct buf body;
	long status; /* of the transfer in flight, once known */
	enum res_fail fail;
	unsigned events; /* watch events received by the transfer */
	unsigned attempt; /* consecutive failures */
	long long due_ms;
	long long started_ms; /* of the transfer in flight */
	char errbuf[CURL_ERROR_SIZE];
};

struct kube_watch {
	const struct kube_config *kc;
	struct kube_watch_opts o;
	CURLM *multi;
	int epfd, curl_tfd, wait_tfd;
	src_emit_fn *emit;
	void *ctx;
	struct res res[NKINDS];
	/* Bit i: res[i] failed FAILING_AFTER times in a row (read by other
	 * threads through kube_watch_failing). */
	atomic_uint failing;
};

static void wlog(struct kube_watch *w, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void wlog(struct kube_watch *w, int level, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warning", "info" };
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (w->o.log)
		w->o.log(w->o.log_ctx, level, msg);
	else
		fprintf(stderr, "podwalld: kube: %s: %s\n", names[level], msg);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static unsigned rnd(void)
{
	unsigned r = 0;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = (unsigned)now_ms() * 2654435761u;
	return r;
}

static int buf_add(struct buf *b, const void *p, size_t n, size_t max)
{
	size_t cap = b->cap ? b->cap : 4096;
	char *np;

	if (b->len + n + 1 > max)
		return -EFBIG;
	while (cap < b->len + n + 1)
		cap *= 2;
	if (cap != b->cap) {
		np = realloc(b->p, cap);
		if (!np)
			return -ENOMEM;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

/* ---- timers ------------------------------------------------------- */

static void arm(int tfd, long long ms)
{
	struct itimerspec its = { 0 };

	if (ms >= 0) {
		its.it_value.tv_sec = ms / 1000;
		its.it_value.tv_nsec = (ms % 1000) * 1000000;
		if (!ms)
			its.it_value.tv_nsec = 1; /* 0 would disarm */
	}
	timerfd_settime(tfd, 0, &its, NULL);
}

/* The WAIT timer: the earliest due of the kinds that wait. */
static void arm_wait(struct kube_watch *w)
{
	long long first = -1, now = now_ms();

	for (size_t i = 0; i < NKINDS; i++)
		if (w->res[i].state == RS_WAIT &&
		    (first < 0 || w->res[i].due_ms < first))
			first = w->res[i].due_ms;
	arm(w->wait_tfd, first < 0 ? -1 : (first > now ? first - now : 0));
}

/* Equal jitter: half the delay fixed, half random. */
/*
 * A resource whose requests failed this many times in a row makes the
 * source "failing" (podwalld's /readyz false): about 6 s of errors with
 * the default backoff (0.8, 1.6, 3.2 s, jittered), so one dropped stream
 * or an API server restarting does not flap readiness, while an API that
 * stays unreachable shows within seconds.
 */
#define FAILING_AFTER 4

static void set_attempt(struct res *r, unsigned attempt)
{
	unsigned bit = 1u << (r - r->w->res);

	r->attempt = attempt;
	if (attempt >= FAILING_AFTER)
		atomic_fetch_or(&r->w->failing, bit);
	else
		atomic_fetch_and(&r->w->failing, ~bit);
}

unsigned kube_watch_failing(const struct kube_watch *w)
{
	return atomic_load(&w->failing);
}

static long long backoff_ms(struct kube_watch *w, unsigned attempt)
{
	unsigned long long d = w->o.backoff_min_ms;

	for (unsigned i = 0; i < attempt && d < w->o.backoff_max_ms; i++)
		d *= 2;
	if (d > w->o.backoff_max_ms)
		d = w->o.backoff_max_ms;
	return (long long)(d / 2 + rnd() % (d / 2 + 1));
}

/* ---- requests ----------------------------------------------------- */

static size_t on_data(char *p, size_t size, size_t n, void *userp);

/* The URL of r's next request; allocated. */
static char *request_url(struct res *r)
{
	struct kube_watch *w = r->w;
	char *url = NULL, *esc;
	int ret;

	if (r->relist) {
		esc = curl_easy_escape(NULL, r->cont ? r->cont : "", 0);
		if (!esc)
			return NULL;
		ret = asprintf(&url, "%s%s?limit=%u%s%s", w->kc->server,
			       r->k->path, w->o.page_limit,
			       r->cont ? "&continue=" : "", r->cont ? esc : "");
		curl_free(esc);
	} else {
		esc = curl_easy_escape(NULL, r->rv, 0);
		if (!esc)
			return NULL;
		ret = asprintf(&url,
			       "%s%s?watch=1&resourceVersion=%s"
			       "&allowWatchBookmarks=true&timeoutSeconds=%u",
			       w->kc->server, r->k->path, esc,
			       w->o.watch_timeout_s +
				       rnd() % (w->o.watch_timeout_s + 1));
		curl_free(esc);
	}
	return ret < 0 ? NULL : url;
}

static int set_headers(struct res *r)
{
	struct curl_slist *h;
	char *tok, *line;

	h = curl_slist_append(NULL, "Accept: application/json");
	if (!h)
		return -ENOMEM;
	r->hdrs = h;
	errno = 0;
	tok = kube_config_token(r->w->kc);
	if (!tok)
		return errno == EINVAL ? -EINVAL : (errno ? -errno : 0);
	if (asprintf(&line, "Authorization: Bearer %s", tok) < 0) {
		free(tok);
		return -ENOMEM;
	}
	h = curl_slist_append(r->hdrs, line);
	/* the token is a secret: leave no copy behind */
	explicit_bzero(line, strlen(line));
	explicit_bzero(tok, strlen(tok));
	free(line);
	free(tok);
	if (!h)
		return -ENOMEM;
	r->hdrs = h;
	return 0;
}

static void set_tls(CURL *e, const struct kube_config *kc)
{
	struct curl_blob b = { .flags = CURL_BLOB_NOCOPY };

	if (kc->insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (kc->ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, kc->ca_file);
	if (kc->ca_data) {
		b.data = kc->ca_data;
		b.len = kc->ca_len;
		curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &b);
	}
	if (kc->cert_file)
		curl_easy_setopt(e, CURLOPT_SSLCERT, kc->cert_file);
	if (kc->cert_data) {
		b.data = kc->cert_data;
		b.len = kc->cert_len;
		curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &b);
	}
	if (kc->key_file)
		curl_easy_setopt(e, CURLOPT_SSLKEY, kc->key_file);
	if (kc->key_data) {
		b.data = kc->key_data;
		b.len = kc->key_len;
		curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &b);
	}
}

/* A list must finish in two minutes; a watch lasts its timeoutSeconds
 * (at most twice the option) and is given half a minute more, after which
 * a silent connection is taken for dead. */
static long transfer_limit_s(const struct res *r)
{
	return r->relist ? 120L : 2L * r->w->o.watch_timeout_s + 30L;
}

static void set_options(struct res *r, CURL *e, const char *url)
{
	long limit = transfer_limit_s(r);

	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->hdrs);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, limit);
	/* a watch may be silent for minutes: keepalives find a dead peer */
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 30L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 10L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "podwalld");
	if (r->relist)
		curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	set_tls(e, r->w->kc);
}

static void end_transfer(struct res *r)
{
	if (r->easy) {
		curl_multi_remove_handle(r->w->multi, r->easy);
		curl_easy_cleanup(r->easy);
		r->easy = NULL;
	}
	curl_slist_free_all(r->hdrs);
	r->hdrs = NULL;
	r->body.len = 0;
	if (r->body.cap > BUF_KEEP) {
		free(r->body.p);
		r->body = (struct buf){ 0 };
	}
}

static void wait_then_retry(struct res *r, long long min_ms);

/* Starts r's next request: a list page or a watch. */
static void start(struct res *r)
{
	char *url = request_url(r);
	int ret = url ? set_headers(r) : -ENOMEM;

	if (!ret && !(r->easy = curl_easy_init()))
		ret = -ENOMEM;
	if (!ret) {
		set_options(r, r->easy, url);
		if (curl_multi_add_handle(r->w->multi, r->easy) != CURLM_OK)
			ret = -ENOMEM;
	}
	free(url);
	r->status = 0;
	r->fail = F_NONE;
	r->events = 0;
	r->errbuf[0] = '\0';
	if (ret) {
		wlog(r->w, KUBE_LOG_ERROR, "%s: cannot start a request: %s",
		     r->k->resource,
		     ret == -EINVAL ? "the token is not usable" :
				      strerror(-ret));
		end_transfer(r);
		wait_then_retry(r, 0);
		return;
	}
	r->state = r->relist ? RS_LIST : RS_WATCH;
	r->started_ms = now_ms();
}

static void wait_then_retry(struct res *r, long long min_ms)
{
	long long d = backoff_ms(r->w, r->attempt);

	if (min_ms > d)
		d = min_ms;
	set_attempt(r, r->attempt + 1);
	r->state = RS_WAIT;
	r->due_ms = now_ms() + d;
	wlog(r->w, KUBE_LOG_INFO, "%s: retrying in %lld ms", r->k->resource, d);
	arm_wait(r->w);
}

/* ---- what arrives ------------------------------------------------- */

static struct kube_sink sink(struct res *r)
{
	return (struct kube_sink){
		.k = r->k, .emit = r->w->emit, .ctx = r->w->ctx, .rv = &r->rv
	};
}

static const enum res_fail line_fail[] = {
	[KUBE_LINE_OK] = F_NONE,     [KUBE_LINE_GONE] = F_GONE,
	[KUBE_LINE_ERROR] = F_ERROR, [KUBE_LINE_BAD] = F_BAD,
	[KUBE_LINE_NOMEM] = F_NOMEM,
};

/* Applies the complete lines of the watch buffer; false to stop. */
static bool watch_lines(struct res *r)
{
	struct kube_sink s = sink(r);
	size_t off = 0;
	enum kube_line l;
	char *nl;

	while ((nl = memchr(r->body.p + off, '\n', r->body.len - off))) {
		l = kube_watch_line(&s, r->body.p + off,
				    (size_t)(nl - (r->body.p + off)));
		off = (size_t)(nl - r->body.p) + 1;
		r->fail = line_fail[l];
		if (l != KUBE_LINE_OK) {
			wlog(r->w, KUBE_LOG_WARN, "%s", s.msg);
			return false;
		}
		r->events++;
	}
	memmove(r->body.p, r->body.p + off, r->body.len - off);
	r->body.len -= off;
	return true;
}

static size_t on_data(char *p, size_t size, size_t n, void *userp)
{
	struct res *r = userp;
	bool stream;
	int ret;

	if (!r->status)
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
	stream = r->state == RS_WATCH && r->status == 200;
	ret = buf_add(&r->body, p, size * n,
		      stream	       ? LINE_MAX_BYTES :
		      r->status == 200 ? BODY_MAX :
					 ERR_BODY_MAX);
	if (ret == -EFBIG && r->status != 200)
		return size * n; /* an error body: its start is enough */
	if (ret) {
		r->fail = ret == -ENOMEM ? F_NOMEM : F_BAD;
		wlog(r->w, KUBE_LOG_WARN, "%s: %s too large", r->k->resource,
		     stream ? "watch line" : "response");
		return 0;
	}
	if (stream && !watch_lines(r))
		return 0;
	return size * n;
}

/* ---- what a finished transfer means ------------------------------- */

/* The server's Retry-After in ms (0 when none), capped. */
static long long retry_after_ms(CURL *e)
{
	curl_off_t s = 0;

	if (curl_easy_getinfo(e, CURLINFO_RETRY_AFTER, &s) != CURLE_OK ||
	    s <= 0)
		return 0;
	return s * 1000 > RETRY_AFTER_MAX_MS ? RETRY_AFTER_MAX_MS : s * 1000;
}

/* Logs a failed request: the HTTP status and the start of the Status
 * message the server sent, or curl's reason. */
static void log_failure(struct res *r, CURLcode code, const char *what)
{
	char snip[161];
	size_t n = r->body.len < sizeof(snip) - 1 ? r->body.len :
						    sizeof(snip) - 1;

	for (size_t i = 0; i < n; i++)
		snip[i] = r->body.p[i] >= ' ' && r->body.p[i] < 0x7f ?
				  r->body.p[i] :
				  '?';
	snip[n] = '\0';
	if (code != CURLE_OK && r->fail == F_NONE)
		wlog(r->w, KUBE_LOG_WARN, "%s: %s: %s", r->k->resource, what,
		     r->errbuf[0] ? r->errbuf : curl_easy_strerror(code));
	else if (r->status != 200)
		wlog(r->w, KUBE_LOG_WARN, "%s: %s: HTTP %ld %s", r->k->resource,
		     what, r->status, snip);
}

static void list_page_done(struct res *r)
{
	struct kube_sink s = sink(r);
	char *cont;
	int ret;

	s.reset = !r->reset_sent;
	ret = kube_list_page(&s, r->body.p ? r->body.p : "", r->body.len,
			     &cont);
	end_transfer(r);
	if (ret) {
		wlog(r->w, KUBE_LOG_WARN, "%s",
		     ret == -ENOMEM ? "out of memory" : s.msg);
		wait_then_retry(r, 0);
		return;
	}
	r->reset_sent = true;
	free(r->cont);
	r->cont = cont;
	if (!cont) {
		kube_emit_marker(&s, SRC_SYNCED);
		r->reset_sent = false;
		r->relist = false;
		set_attempt(r, 0);
		wlog(r->w, KUBE_LOG_INFO, "%s: listed at resourceVersion %s",
		     r->k->resource, r->rv ? r->rv : "(none)");
	}
	start(r);
}

static void list_done(struct res *r, CURLcode code)
{
	long long after;

	if (code == CURLE_OK && r->status == 200) {
		list_page_done(r);
		return;
	}
	log_failure(r, code, "list");
	after = retry_after_ms(r->easy);
	if (r->status == 410) {
		/*
		 * The continue token expired: the list starts over from a new
		 * snapshot, announced by a new SRC_RESET, for an object the
		 * first pages gave may be gone from it.
		 */
		free(r->cont);
		r->cont = NULL;
		r->reset_sent = false;
	}
	end_transfer(r);
	wait_then_retry(r, after);
}

/* Next request at once after a watch that did its job, else after a
 * backoff. */
static void next(struct res *r, bool useful)
{
	if (useful)
		start(r);
	else
		wait_then_retry(r, 0);
}

static void relist(struct res *r, bool useful)
{
	wlog(r->w, KUBE_LOG_INFO, "%s: resourceVersion %s is gone, relisting",
	     r->k->resource, r->rv ? r->rv : "(none)");
	free(r->rv);
	r->rv = NULL;
	free(r->cont);
	r->cont = NULL;
	r->relist = true;
	next(r, useful);
}

static void watch_done(struct res *r, CURLcode code)
{
	long long after = retry_after_ms(r->easy);
	bool clean = (code == CURLE_OK || code == CURLE_OPERATION_TIMEDOUT) &&
		     r->status == 200;
	bool useful = r->events || now_ms() - r->started_ms >= WATCH_MIN_MS;

	if (r->events)
		set_attempt(r, 0); /* the stream worked: back off from 0 */
	if (r->fail == F_GONE || r->status == 410) {
		end_transfer(r);
		relist(r, useful);
		return;
	}
	if (r->fail == F_NONE && clean) {
		/* the server's timeoutSeconds, or ours: watch on */
		end_transfer(r);
		next(r, useful);
		return;
	}
	log_failure(r, code, "watch");
	end_transfer(r);
	wait_then_retry(r, after);
}

static void transfers_done(struct kube_watch *w)
{
	struct res *r;
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(w->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &r);
		if (!r->status)
			curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE,
					  &r->status);
		if (r->state == RS_LIST)
			list_done(r, m->data.result);
		else
			watch_done(r, m->data.result);
	}
}

/* ---- the loop ----------------------------------------------------- */

static int on_socket(CURL *e, curl_socket_t fd, int what, void *userp,
		     void *socketp)
{
	struct kube_watch *w = userp;
	struct epoll_event ev = { .data.fd = fd };

	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(w->epfd, EPOLL_CTL_DEL, fd, NULL);
		return 0;
	}
	if (what & CURL_POLL_IN)
		ev.events |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		ev.events |= EPOLLOUT;
	if (epoll_ctl(w->epfd, EPOLL_CTL_MOD, fd, &ev) && errno == ENOENT)
		epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev);
	return 0;
}

static int on_timer(CURLM *m, long timeout_ms, void *userp)
{
	struct kube_watch *w = userp;

	arm(w->curl_tfd, timeout_ms);
	return 0;
}

static void drain(int tfd)
{
	unsigned long long n;

	while (read(tfd, &n, sizeof(n)) == sizeof(n))
		;
}

/* Starts the kinds whose wait is over. */
static void waits_due(struct kube_watch *w)
{
	long long now = now_ms();

	for (size_t i = 0; i < NKINDS; i++)
		if (w->res[i].state == RS_WAIT && w->res[i].due_ms <= now)
			start(&w->res[i]);
	arm_wait(w);
}

int kube_watch_dispatch(struct kube_watch *w)
{
	struct epoll_event evs[16];
	int n, running, flags;

	n = epoll_wait(w->epfd, evs, KUBE_ARRAY_SIZE(evs), 0);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		if (evs[i].data.fd == w->wait_tfd) {
			drain(w->wait_tfd);
			waits_due(w);
			continue;
		}
		if (evs[i].data.fd == w->curl_tfd) {
			drain(w->curl_tfd);
			curl_multi_socket_action(w->multi, CURL_SOCKET_TIMEOUT,
						 0, &running);
		} else {
			flags = (evs[i].events & EPOLLIN ? CURL_CSELECT_IN :
							   0) |
				(evs[i].events & EPOLLOUT ? CURL_CSELECT_OUT :
							    0) |
				(evs[i].events & (EPOLLERR | EPOLLHUP) ?
					 CURL_CSELECT_ERR :
					 0);
			curl_multi_socket_action(w->multi, evs[i].data.fd,
						 flags, &running);
		}
		transfers_done(w);
	}
	return 0;
}

int kube_watch_fd(const struct kube_watch *w)
{
	return w->epfd;
}

int kube_watch_start(struct kube_watch *w, src_emit_fn *emit, void *ctx)
{
	w->emit = emit;
	w->ctx = ctx;
	for (size_t i = 0; i < NKINDS; i++) {
		w->res[i].relist = true;
		start(&w->res[i]);
	}
	return 0;
}

static int add_fd(int epfd, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

static const struct kube_watch_opts default_opts = {
	.backoff_min_ms = 800,
	.backoff_max_ms = 30000,
	.page_limit = 500,
	.watch_timeout_s = 300,
};

static void opts_init(struct kube_watch_opts *o,
		      const struct kube_watch_opts *in)
{
	*o = in ? *in : default_opts;
	if (!o->backoff_min_ms)
		o->backoff_min_ms = default_opts.backoff_min_ms;
	if (!o->backoff_max_ms)
		o->backoff_max_ms = default_opts.backoff_max_ms;
	if (o->backoff_max_ms < o->backoff_min_ms)
		o->backoff_max_ms = o->backoff_min_ms;
	if (!o->page_limit)
		o->page_limit = default_opts.page_limit;
	if (!o->watch_timeout_s)
		o->watch_timeout_s = default_opts.watch_timeout_s;
}

struct kube_watch *kube_watch_new(const struct kube_config *kc,
				  const struct kube_watch_opts *opts)
{
	struct kube_watch *w = calloc(1, sizeof(*w));
	int e = ENOMEM;

	if (!w)
		return NULL;
	w->epfd = w->curl_tfd = w->wait_tfd = -1;
	w->kc = kc;
	opts_init(&w->o, opts);
	for (size_t i = 0; i < NKINDS; i++)
		w->res[i] = (struct res){ .w = w, .k = &kinds[i] };
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->curl_tfd =
		timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	w->wait_tfd =
		timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (w->epfd < 0 || w->curl_tfd < 0 || w->wait_tfd < 0 ||
	    add_fd(w->epfd, w->curl_tfd) || add_fd(w->epfd, w->wait_tfd)) {
		e = errno;
		goto err_free;
	}
	w->multi = curl_multi_init();
	if (!w->multi)
		goto err_free;
	curl_multi_setopt(w->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(w->multi, CURLMOPT_SOCKETDATA, w);
	curl_multi_setopt(w->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(w->multi, CURLMOPT_TIMERDATA, w);
	return w;
err_free:
	kube_watch_free(w);
	errno = e;
	return NULL;
}

void kube_watch_free(struct kube_watch *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < NKINDS; i++) {
		end_transfer(&w->res[i]);
		free(w->res[i].body.p);
		free(w->res[i].rv);
		free(w->res[i].cont);
	}
	if (w->multi)
		curl_multi_cleanup(w->multi);
	if (w->wait_tfd >= 0)
		close(w->wait_tfd);
	if (w->curl_tfd >= 0)
		close(w->curl_tfd);
	if (w->epfd >= 0)
		close(w->epfd);
	free(w);
}
