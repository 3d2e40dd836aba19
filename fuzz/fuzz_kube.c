// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for the agent's Kubernetes API parsers
 * (cmd/podwalld/kube_json.c, kube_config.c): what an API server or a
 * kubeconfig file hands podwalld is input like any manifest.
 *
 * The first byte chooses the parser: 0 a list page, 1 watch stream lines,
 * 2 a kubeconfig file. Every object emitted must be well formed, and any
 * object handed to the loader must not crash it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <podwall/cluster.h>

#include "kube.h"

static const struct kube_kind pods = {
	"Pod", "v1", "/api/v1/pods", "pods", true,
};

static void emit(void *ctx, enum src_event ev, const struct src_object *o)
{
	struct pw_cluster *c;

	(void)ctx;
	if (ev != SRC_UPSERT && ev != SRC_DELETE)
		return;
	if (!o || !o->kind || !o->name || !o->text)
		abort();
	c = pw_cluster_new();
	if (c)
		pw_cluster_load_buffer(c, "fuzz", o->text, o->len, NULL);
	pw_cluster_free(c);
}

static void fuzz_list(const char *buf, size_t len)
{
	char *rv = NULL, *cont = NULL;
	struct kube_sink s = { .k = &pods, .emit = emit, .rv = &rv };

	kube_list_page(&s, buf, len, &cont);
	free(cont);
	free(rv);
}

static void fuzz_watch(const char *buf, size_t len)
{
	char *rv = NULL;
	struct kube_sink s = { .k = &pods, .emit = emit, .rv = &rv };
	const char *end = buf + len, *nl;

	for (const char *p = buf; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		if (kube_watch_line(&s, p, (size_t)(nl - p)) == KUBE_LINE_BAD)
			break;
	}
	free(rv);
}

/* The loader takes a path: a memfd gives the bytes one. */
static void fuzz_config(const char *buf, size_t len)
{
	char path[64], err[KUBE_ERR_MAX];
	int fd = memfd_create("kubeconfig", 0);

	if (fd < 0)
		return;
	if (write(fd, buf, len) == (ssize_t)len) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		kube_config_free(kube_config_load(path, err, sizeof(err)));
	}
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static void (*const parsers[])(const char *, size_t) = {
		fuzz_list,
		fuzz_watch,
		fuzz_config,
	};

	if (!size)
		return 0;
	parsers[data[0] % 3]((const char *)data + 1, size - 1);
	return 0;
}
