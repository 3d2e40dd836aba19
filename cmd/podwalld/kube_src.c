// SPDX-License-Identifier: Apache-2.0
/*
 * The Kubernetes API as a source of podwalld (source.h): the watch of
 * kube_watch.c runs in a thread of its own, so that a slow API server or
 * a long TLS handshake never holds up the agent's loop; events reach the
 * agent through emit, which queues them. Every pod of the cluster is
 * watched, whatever --node says: the pods of other nodes are the peers
 * the policies of this node's pods name.
 */
#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "kube.h"
#include "log.h"

struct kube_src {
	struct src base; /* first: source.h */
	struct kube_config *kc;
	struct kube_watch *w;
	int stopfd; /* eventfd: the thread ends when it is readable */
	pthread_t thread;
	bool running;
	bool curl_ready; /* curl_global_init() done, to be undone */
	src_emit_fn *emit;
	void *ctx;
};

static const char *const level_names[] = {
	[KUBE_LOG_ERROR] = "error",
	[KUBE_LOG_WARN] = "warn",
	[KUBE_LOG_INFO] = "info",
};

static void src_log(void *ctx, int level, const char *msg)
{
	alog(level_names[level], "kube", "msg", msg, NULL);
}

static void *run(void *arg)
{
	struct kube_src *k = arg;
	struct pollfd p[2] = {
		{ .fd = k->stopfd, .events = POLLIN },
		{ .fd = kube_watch_fd(k->w), .events = POLLIN },
	};
	int ret;

	kube_watch_start(k->w, k->emit, k->ctx);
	for (;;) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			break;
		if (!p[1].revents)
			continue;
		ret = kube_watch_dispatch(k->w);
		if (ret) {
			alog("error", "kube", "msg", "the watch loop failed",
			     NULL);
			break;
		}
	}
	return NULL;
}

static int kube_start(struct src *s, src_emit_fn *emit, void *ctx)
{
	struct kube_src *k = (struct kube_src *)s;
	struct kube_watch_opts o = { .log = src_log };
	int ret;

	if (k->running)
		return -EALREADY;
	k->emit = emit;
	k->ctx = ctx;
	k->w = kube_watch_new(k->kc, &o);
	if (!k->w)
		return -errno;
	ret = pthread_create(&k->thread, NULL, run, k);
	if (ret) {
		kube_watch_free(k->w);
		k->w = NULL;
		return -ret;
	}
	k->running = true;
	return 0;
}

static void kube_stop(struct src *s)
{
	struct kube_src *k = (struct kube_src *)s;
	uint64_t one = 1;

	if (!k->running)
		return;
	if (write(k->stopfd, &one, sizeof(one)) != sizeof(one))
		alog("error", "kube", "msg", "cannot stop the watch thread",
		     NULL);
	pthread_join(k->thread, NULL);
	k->running = false;
	kube_watch_free(k->w);
	k->w = NULL;
}

static void kube_free(struct src *s)
{
	struct kube_src *k = (struct kube_src *)s;

	if (!k)
		return;
	kube_stop(s);
	if (k->stopfd >= 0)
		close(k->stopfd);
	kube_config_free(k->kc);
	if (k->curl_ready)
		curl_global_cleanup();
	free(k);
}

static const char *kube_trouble(const struct src *s)
{
	const struct kube_src *k = (const struct kube_src *)s;

	return k->w && kube_watch_failing(k->w) ?
		       "requests to the Kubernetes API keep failing" :
		       NULL;
}

static const struct src_ops kube_ops = {
	.name = "kube",
	.start = kube_start,
	.stop = kube_stop,
	.free = kube_free,
	.trouble = kube_trouble,
};

struct src *kube_src_new(const struct src_config *cfg)
{
	struct kube_src *k = calloc(1, sizeof(*k));
	char err[KUBE_ERR_MAX] = "";
	int e;

	if (!k)
		return NULL;
	k->base.ops = &kube_ops;
	k->stopfd = -1;
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		e = ENOMEM;
		goto err_free;
	}
	k->curl_ready = true;
	k->kc = cfg->kubeconfig ?
			kube_config_load(cfg->kubeconfig, err, sizeof(err)) :
			kube_config_in_cluster(NULL, err, sizeof(err));
	if (!k->kc) {
		e = errno;
		alog("error", "kube-config", "error", err[0] ? err : NULL,
		     NULL);
		goto err_free;
	}
	k->stopfd = eventfd(0, EFD_CLOEXEC);
	if (k->stopfd < 0) {
		e = errno;
		goto err_free;
	}
	alog("info", "kube-config", "server", k->kc->server, NULL);
	return &k->base;
err_free:
	kube_free(&k->base);
	errno = e;
	return NULL;
}
