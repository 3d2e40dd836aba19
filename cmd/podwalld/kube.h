/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Kubernetes API source of podwalld (docs/KUBE.md).
 *
 *  kube_config.c  where the API server is and how to authenticate to it:
 *                 in-cluster (service account) or a kubeconfig file.
 *  kube_watch.c   list, then watch, Pods, Namespaces and NetworkPolicies
 *                 over one libcurl multi handle driven by one pollable fd.
 *  kube_json.c    list pages and watch lines (jansson) to source events.
 *  kube_src.c     the struct src of source.h: the watch in a thread.
 */
#ifndef PODWALLD_KUBE_H
#define PODWALLD_KUBE_H

#include <stdbool.h>
#include <stddef.h>

#include "source.h"

#define KUBE_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Room for an error message of the config loader. */
#define KUBE_ERR_MAX 512

/*
 * Where the API server is and who we are. Either file or inline data
 * (already base64-decoded) is set for each credential, never both.
 */
struct kube_config {
	char *server; /* "https://host:port" or "http://..." */
	char *ca_file, *ca_data;
	size_t ca_len;
	bool insecure; /* insecure-skip-tls-verify */
	char *token; /* bearer token, or NULL */
	char *token_file; /* re-read on each request (rotated tokens) */
	char *cert_file, *cert_data;
	size_t cert_len;
	char *key_file, *key_data;
	size_t key_len;
	char *ns; /* the context's or the service account's namespace */
};

/*
 * In-cluster configuration: KUBERNETES_SERVICE_HOST/PORT and the service
 * account files under dir (NULL: /var/run/secrets/kubernetes.io/
 * serviceaccount). NULL + errno on failure, with a message in err.
 */
struct kube_config *kube_config_in_cluster(const char *dir, char *err,
					   size_t errlen);
/*
 * A kubeconfig file, its current context. Relative file paths in it are
 * relative to the file's directory, as kubectl reads them. NULL + errno
 * on failure (EINVAL for a file that is not a usable kubeconfig), with a
 * message in err.
 */
struct kube_config *kube_config_load(const char *path, char *err,
				     size_t errlen);
/* NULL is a no-op. */
void kube_config_free(struct kube_config *kc);

/* The bearer token to send now (token, else token_file read afresh), or
 * NULL when there is none; allocated. A token with control characters
 * is refused (NULL, errno EINVAL): it would end the header. */
char *kube_config_token(const struct kube_config *kc);

/* A kind the watch serves, and where the API keeps it. */
struct kube_kind {
	const char *kind; /* "Pod" */
	const char *api_version; /* "v1" */
	const char *path; /* "/api/v1/pods" */
	const char *resource; /* "pods", for origins and logs */
	bool namespaced;
};

/* What a watch stream line was (kube_json.c). */
enum kube_line {
	KUBE_LINE_OK, /* an event (or a blank line), applied */
	KUBE_LINE_GONE, /* ERROR 410: the resourceVersion is too old */
	KUBE_LINE_ERROR, /* another ERROR event from the server */
	KUBE_LINE_BAD, /* not an event: the stream cannot be trusted */
	KUBE_LINE_NOMEM,
};

/*
 * Where events go, and the resourceVersion they move: kube_json.c reads
 * API responses into emit() calls and updates *rv (allocated, replaced).
 */
struct kube_sink {
	const struct kube_kind *k;
	src_emit_fn *emit;
	void *ctx;
	char **rv;
	bool reset; /* emit SRC_RESET before the page's items */
	/* a message for the log when a function fails */
	char msg[256];
};

/*
 * One page of a list response (body of len bytes): SRC_UPSERT for every
 * item (after SRC_RESET when s->reset), *cont set to the continue token (allocated, NULL on the last
 * page) and *s->rv to the list's resourceVersion. 0, -EBADMSG (message
 * in s->msg) or -ENOMEM; on an error nothing was emitted.
 */
int kube_list_page(struct kube_sink *s, const char *body, size_t len,
		   char **cont);
/* Emits SRC_RESET or SRC_SYNCED for s's kind. */
void kube_emit_marker(struct kube_sink *s, enum src_event ev);
/* One line of a watch stream: the event it holds is emitted. */
enum kube_line kube_watch_line(struct kube_sink *s, const char *line,
			       size_t len);

/* Tunables of the watch; zero fields take the defaults (in brackets). */
struct kube_watch_opts {
	unsigned backoff_min_ms; /* first delay after an error [800] */
	unsigned backoff_max_ms; /* cap [30000] */
	unsigned page_limit; /* items per list page [500] */
	unsigned watch_timeout_s; /* timeoutSeconds, jittered up to 2x [300] */
	/* Log sink for errors and state changes (NULL: stderr). */
	void (*log)(void *ctx, int level, const char *msg);
	void *log_ctx;
};

/* Log levels of kube_watch_opts.log. */
enum {
	KUBE_LOG_ERROR,
	KUBE_LOG_WARN,
	KUBE_LOG_INFO,
};

struct kube_watch;

/*
 * A watch of the three kinds through kc (borrowed: it must outlive the
 * watch). Nothing happens before kube_watch_start(). NULL + errno.
 */
struct kube_watch *kube_watch_new(const struct kube_config *kc,
				  const struct kube_watch_opts *opts);
/* NULL is a no-op; stops transfers without emitting anything. */
void kube_watch_free(struct kube_watch *w);
/* Begins listing every kind; events go to emit(ctx, ...). 0 or -errno. */
int kube_watch_start(struct kube_watch *w, src_emit_fn *emit, void *ctx);
/* An fd that becomes readable when kube_watch_dispatch() has work. */
int kube_watch_fd(const struct kube_watch *w);
/* Does the work that is due without blocking; 0 or -errno. */
int kube_watch_dispatch(struct kube_watch *w);
/*
 * Bit i set: the i-th kind's requests keep failing (several in a row, see
 * FAILING_AFTER). Any thread may ask; 0 when all is well.
 */
unsigned kube_watch_failing(const struct kube_watch *w);

#endif
