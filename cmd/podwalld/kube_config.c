// SPDX-License-Identifier: Apache-2.0
/*
 * Where the API server is and how to authenticate: the in-cluster service
 * account, or the current context of a kubeconfig file (read with libyaml's
 * document API: the file is small and its shape is fixed).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "kube.h"

#define SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"
/* A credential or CA bundle larger than this is not one. */
#define KUBE_FILE_MAX (4u << 20)

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void kube_config_free(struct kube_config *kc)
{
	if (!kc)
		return;
	free(kc->server);
	free(kc->ca_file);
	free(kc->ca_data);
	free(kc->token);
	free(kc->token_file);
	free(kc->cert_file);
	free(kc->cert_data);
	free(kc->key_file);
	free(kc->key_data);
	free(kc->ns);
	free(kc);
}

/* All of a small file, NUL-terminated; NULL + errno. */
static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	size_t n = 0, cap = 4096;
	char *buf, *nb;

	if (!f)
		return NULL;
	buf = malloc(cap);
	while (buf) {
		n += fread(buf + n, 1, cap - n - 1, f);
		if (n < cap - 1)
			break;
		if (cap >= KUBE_FILE_MAX) {
			free(buf);
			buf = NULL;
			errno = EFBIG;
			break;
		}
		nb = realloc(buf, cap * 2);
		if (!nb) {
			free(buf);
			buf = NULL;
			break;
		}
		buf = nb;
		cap *= 2;
	}
	if (buf && ferror(f)) {
		free(buf);
		buf = NULL;
		errno = EIO;
	}
	fclose(f);
	if (buf) {
		buf[n] = '\0';
		if (len)
			*len = n;
	}
	return buf;
}

/* Strips trailing white space (token files end with a newline). */
static void chomp(char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' ||
		     s[n - 1] == '\t'))
		s[--n] = '\0';
}

/* A token goes into an HTTP header: no control characters, no spaces. */
static bool token_ok(const char *t)
{
	if (!t[0])
		return false;
	for (; *t; t++)
		if ((unsigned char)*t <= ' ' || *t == 0x7f)
			return false;
	return true;
}

char *kube_config_token(const struct kube_config *kc)
{
	char *t;

	if (kc->token)
		t = strdup(kc->token);
	else if (kc->token_file)
		t = read_file(kc->token_file, NULL);
	else
		return NULL;
	if (!t)
		return NULL;
	chomp(t);
	if (!token_ok(t)) {
		free(t);
		errno = EINVAL;
		return NULL;
	}
	return t;
}

/* ---- base64 (the *-data fields) ----------------------------------- */

static int b64_value(unsigned char c)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = c ? strchr(tab, c) : NULL;

	return p ? (int)(p - tab) : -1;
}

/* Standard base64, white space ignored, padding optional. NULL + EINVAL
 * for anything else. */
static char *b64_decode(const char *s, size_t *len)
{
	char *out = malloc(strlen(s) / 4 * 3 + 4);
	unsigned acc = 0, bits = 0;
	size_t n = 0;
	int v;

	if (!out)
		return NULL;
	for (; *s && *s != '='; s++) {
		if (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t')
			continue;
		v = b64_value((unsigned char)*s);
		if (v < 0)
			goto err_bad;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (char)((acc >> bits) & 0xff);
		}
	}
	for (; *s; s++)
		if (*s != '=' && *s != '\n' && *s != '\r')
			goto err_bad;
	out[n] = '\0';
	*len = n;
	return out;
err_bad:
	free(out);
	errno = EINVAL;
	return NULL;
}

/* ---- the kubeconfig tree ------------------------------------------ */

static yaml_node_t *map_get(yaml_document_t *doc, yaml_node_t *map,
			    const char *key)
{
	yaml_node_pair_t *p;
	yaml_node_t *k;

	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		k = yaml_document_get_node(doc, p->key);
		if (k && k->type == YAML_SCALAR_NODE &&
		    !strcmp((char *)k->data.scalar.value, key))
			return yaml_document_get_node(doc, p->value);
	}
	return NULL;
}

/* A scalar's text; NULL when n is missing, not a scalar, or empty. */
static const char *scalar(yaml_node_t *n)
{
	if (!n || n->type != YAML_SCALAR_NODE || !n->data.scalar.length)
		return NULL;
	return (const char *)n->data.scalar.value;
}

/* The "what" member (cluster, user, context) of the entry of list
 * (clusters, users, contexts) named name. */
static yaml_node_t *named_entry(yaml_document_t *doc, yaml_node_t *root,
				const char *list, const char *name,
				const char *what)
{
	yaml_node_t *seq = map_get(doc, root, list), *item;
	const char *n;

	if (!seq || seq->type != YAML_SEQUENCE_NODE)
		return NULL;
	for (yaml_node_item_t *i = seq->data.sequence.items.start;
	     i < seq->data.sequence.items.top; i++) {
		item = yaml_document_get_node(doc, *i);
		n = scalar(map_get(doc, item, "name"));
		if (n && !strcmp(n, name))
			return map_get(doc, item, what);
	}
	return NULL;
}

struct kc_load {
	yaml_document_t *doc;
	const char *dir; /* of the kubeconfig, for relative paths */
	char *err;
	size_t errlen;
	const char *path;
};

/* A path from the kubeconfig, made relative to its directory. */
static char *kc_path(const struct kc_load *l, const char *p)
{
	char *out;

	if (p[0] == '/' || !l->dir)
		return strdup(p);
	if (asprintf(&out, "%s/%s", l->dir, p) < 0)
		return NULL;
	return out;
}

/*
 * One credential: FIELD (a path) or FIELD-data (base64). 0 when neither
 * is there, 1 when one was read, -errno (message set) on failure.
 */
static int kc_blob(struct kc_load *l, yaml_node_t *m, const char *field,
		   char **file, char **data, size_t *len)
{
	char key[64];
	const char *p, *d;

	snprintf(key, sizeof(key), "%s-data", field);
	p = scalar(map_get(l->doc, m, field));
	d = scalar(map_get(l->doc, m, key));
	if (d) {
		*data = b64_decode(d, len);
		if (!*data) {
			set_err(l->err, l->errlen, "%s: %s is not valid base64",
				l->path, key);
			return -errno;
		}
		return 1;
	}
	if (!p)
		return 0;
	*file = kc_path(l, p);
	return *file ? 1 : -ENOMEM;
}

static int kc_cluster(struct kc_load *l, yaml_node_t *cl,
		      struct kube_config *kc)
{
	const char *server = scalar(map_get(l->doc, cl, "server"));
	const char *skip;
	int ret;

	if (!server ||
	    (strncmp(server, "https://", 8) && strncmp(server, "http://", 7))) {
		set_err(l->err, l->errlen,
			"%s: the cluster's server must be an https:// or "
			"http:// URL",
			l->path);
		return -EINVAL;
	}
	kc->server = strdup(server);
	if (!kc->server)
		return -ENOMEM;
	/* a trailing slash would double the one of every request path */
	if (kc->server[strlen(kc->server) - 1] == '/')
		kc->server[strlen(kc->server) - 1] = '\0';
	skip = scalar(map_get(l->doc, cl, "insecure-skip-tls-verify"));
	kc->insecure = skip && !strcmp(skip, "true");
	ret = kc_blob(l, cl, "certificate-authority", &kc->ca_file,
		      &kc->ca_data, &kc->ca_len);
	return ret < 0 ? ret : 0;
}

/* Credential plugins run programs named in the file: not supported. */
static const char *const unsupported_auth[] = {
	"exec",
	"auth-provider",
	"username",
	"password",
};

static int kc_user(struct kc_load *l, yaml_node_t *u, struct kube_config *kc)
{
	const char *tok, *tokf;
	int ret;

	for (size_t i = 0; u && i < KUBE_ARRAY_SIZE(unsupported_auth); i++) {
		if (!map_get(l->doc, u, unsupported_auth[i]))
			continue;
		set_err(l->err, l->errlen,
			"%s: user authentication by \"%s\" is not supported "
			"(use a token or a client certificate)",
			l->path, unsupported_auth[i]);
		return -ENOTSUP;
	}
	tok = scalar(map_get(l->doc, u, "token"));
	tokf = scalar(map_get(l->doc, u, "tokenFile"));
	if (tok && !(kc->token = strdup(tok)))
		return -ENOMEM;
	if (!tok && tokf && !(kc->token_file = kc_path(l, tokf)))
		return -ENOMEM;
	ret = kc_blob(l, u, "client-certificate", &kc->cert_file,
		      &kc->cert_data, &kc->cert_len);
	if (ret >= 0)
		ret = kc_blob(l, u, "client-key", &kc->key_file, &kc->key_data,
			      &kc->key_len);
	if (ret < 0)
		return ret;
	if (!(kc->cert_file || kc->cert_data) !=
	    !(kc->key_file || kc->key_data)) {
		set_err(l->err, l->errlen,
			"%s: a client certificate needs its key, and a key "
			"its certificate",
			l->path);
		return -EINVAL;
	}
	return 0;
}

/* Fills kc from the current context of the parsed file. */
static int kc_context(struct kc_load *l, struct kube_config *kc)
{
	yaml_node_t *root = yaml_document_get_root_node(l->doc);
	const char *cur = scalar(map_get(l->doc, root, "current-context"));
	const char *cname, *uname, *ns;
	yaml_node_t *ctx, *cl, *u = NULL;
	int ret;

	if (!cur) {
		set_err(l->err, l->errlen, "%s: no current-context", l->path);
		return -EINVAL;
	}
	ctx = named_entry(l->doc, root, "contexts", cur, "context");
	cname = scalar(map_get(l->doc, ctx, "cluster"));
	uname = scalar(map_get(l->doc, ctx, "user"));
	cl = cname ? named_entry(l->doc, root, "clusters", cname, "cluster") :
		     NULL;
	if (uname)
		u = named_entry(l->doc, root, "users", uname, "user");
	if (!ctx || !cl || (uname && !u)) {
		set_err(l->err, l->errlen, "%s: context \"%s\" %s", l->path,
			cur,
			!ctx ? "is not defined" :
			!cl  ? "names no defined cluster" :
			       "names a user that is not defined");
		return -EINVAL;
	}
	ret = kc_cluster(l, cl, kc);
	if (!ret)
		ret = kc_user(l, u, kc);
	ns = scalar(map_get(l->doc, ctx, "namespace"));
	if (!ret && !(kc->ns = strdup(ns ? ns : "default")))
		ret = -ENOMEM;
	return ret;
}

static int kc_parse(struct kc_load *l, const char *text, size_t len,
		    struct kube_config *kc)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	int ret;

	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		set_err(l->err, l->errlen, "%s:%zu:%zu: %s", l->path,
			parser.problem_mark.line + 1,
			parser.problem_mark.column + 1,
			parser.problem ? parser.problem : "invalid YAML");
		yaml_parser_delete(&parser);
		return -EINVAL;
	}
	l->doc = &doc;
	if (!yaml_document_get_root_node(&doc)) {
		set_err(l->err, l->errlen, "%s: empty file", l->path);
		ret = -EINVAL;
	} else {
		ret = kc_context(l, kc);
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return ret;
}

struct kube_config *kube_config_load(const char *path, char *err, size_t errlen)
{
	struct kc_load l = { .err = err, .errlen = errlen, .path = path };
	struct kube_config *kc = calloc(1, sizeof(*kc));
	char *text = NULL, *dir = NULL, *slash;
	size_t len;
	int ret = -ENOMEM;

	if (!kc)
		goto err_free;
	text = read_file(path, &len);
	if (!text) {
		ret = -errno;
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		goto err_free;
	}
	dir = strdup(path);
	if (!dir)
		goto err_free;
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	l.dir = slash ? (dir[0] ? dir : "/") : NULL;
	ret = kc_parse(&l, text, len, kc);
	if (ret)
		goto err_free;
	free(dir);
	free(text);
	return kc;
err_free:
	if (ret == -ENOMEM && err && !err[0])
		set_err(err, errlen, "%s: out of memory", path);
	free(dir);
	free(text);
	kube_config_free(kc);
	errno = -ret;
	return NULL;
}

/* "https://HOST:PORT", brackets around an IPv6 host. */
static char *in_cluster_server(char *err, size_t errlen)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	bool v6;
	char *s;

	if (!host || !host[0] || !port || !port[0]) {
		set_err(err, errlen,
			"not running in a cluster: KUBERNETES_SERVICE_HOST "
			"and KUBERNETES_SERVICE_PORT are not set (use "
			"--kubeconfig FILE)");
		errno = ENOENT;
		return NULL;
	}
	if (strspn(port, "0123456789") != strlen(port) ||
	    strpbrk(host, "/@?# ")) {
		set_err(err, errlen,
			"KUBERNETES_SERVICE_HOST/PORT are invalid");
		errno = EINVAL;
		return NULL;
	}
	v6 = strchr(host, ':') != NULL;
	if (asprintf(&s, "https://%s%s%s:%s", v6 ? "[" : "", host,
		     v6 ? "]" : "", port) < 0) {
		errno = ENOMEM;
		return NULL;
	}
	return s;
}

static char *dir_file(const char *dir, const char *name)
{
	char *s;

	return asprintf(&s, "%s/%s", dir, name) < 0 ? NULL : s;
}

struct kube_config *kube_config_in_cluster(const char *dir, char *err,
					   size_t errlen)
{
	struct kube_config *kc = calloc(1, sizeof(*kc));
	char *path = NULL, *tok;
	int e = ENOMEM;

	if (!dir)
		dir = SA_DIR;
	if (!kc)
		goto err_free;
	kc->server = in_cluster_server(err, errlen);
	if (!kc->server) {
		e = errno;
		goto err_free;
	}
	if (!(kc->token_file = dir_file(dir, "token")) ||
	    !(kc->ca_file = dir_file(dir, "ca.crt")) ||
	    !(path = dir_file(dir, "namespace")))
		goto err_free;
	if (access(kc->ca_file, R_OK)) {
		e = errno;
		set_err(err, errlen, "service account CA %s: %s", kc->ca_file,
			strerror(e));
		goto err_free;
	}
	tok = kube_config_token(kc);
	if (!tok) {
		e = errno;
		set_err(err, errlen, "service account token %s: %s",
			kc->token_file,
			e == EINVAL ? "not a usable token" : strerror(e));
		goto err_free;
	}
	free(tok);
	kc->ns = read_file(path, NULL);
	if (kc->ns)
		chomp(kc->ns);
	else if (!(kc->ns = strdup("default")))
		goto err_free;
	free(path);
	return kc;
err_free:
	free(path);
	kube_config_free(kc);
	errno = e;
	return NULL;
}
