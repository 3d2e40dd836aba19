// SPDX-License-Identifier: Apache-2.0
/*
 * The expectations file parser (spec/cli.md, "Expectations file").
 *
 * Strict in the way the manifest decoder is, because a typo in an audit
 * check must not turn into a check that silently proves nothing: an
 * unknown key, a value of the wrong type, a bad port or CIDR, a missing or
 * misplaced field and a duplicate name are all errors, each at its
 * position with its field path ("expectations[2].to.pod.app").
 *
 * The walk is table-driven: one handler per key of an expectation, and a
 * table per kind saying which of from, to and ports it takes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "expect.h"
#include "labels.h"
#include "yaml.h"

struct xparse {
	struct pw_diags *d;
	struct pw_yaml *y;
	struct pw_path path;
	unsigned errors;
	bool over_budget;
};

static const char *const kind_names[PW_EXPECT_NR] = {
	[PW_EXPECT_DENY] = "deny",
	[PW_EXPECT_ALLOW] = "allow",
	[PW_EXPECT_ONLY_FROM] = "only-from",
	[PW_EXPECT_EGRESS_ONLY_TO] = "egress-only-to",
	[PW_EXPECT_ISOLATED] = "isolated",
};

const char *pw_expect_kind_name(enum pw_expect_kind k)
{
	return (unsigned)k < PW_EXPECT_NR ? kind_names[k] : NULL;
}

static void xerr(struct xparse *p, const struct pw_ynode *n, const char *fmt,
		 ...) PW_PRINTF(3, 4);

static void xerr(struct xparse *p, const struct pw_ynode *n, const char *fmt,
		 ...)
{
	va_list ap;

	va_start(ap, fmt);
	pw_diags_vadd(p->d, PW_SEV_ERROR, n ? &n->pos : NULL, p->path.buf, fmt,
		      ap);
	va_end(ap);
	p->errors++;
}

/* Charges one node visit against the document's alias budget. */
static bool visit(struct xparse *p, const struct pw_ynode *n)
{
	if (p->over_budget)
		return false;
	if (pw_yaml_doc_charge(p->y, 0, 1))
		return true;
	p->over_budget = true;
	xerr(p, n, "too many nodes after alias expansion");
	return false;
}

static bool want_type(struct xparse *p, const struct pw_ynode *n,
		      enum pw_node_type t, const char *what)
{
	if (!visit(p, n))
		return false;
	if (n->type == t)
		return true;
	xerr(p, n, "expected %s, got %s", what, pw_node_kind_name(n));
	return false;
}

static bool want_string(struct xparse *p, const struct pw_ynode *n)
{
	if (!visit(p, n))
		return false;
	if (n->type == PW_NODE_SCALAR && pw_node_is_string(n) &&
	    n->scalar.len == strlen(n->scalar.text) && n->scalar.len) {
		return true;
	}
	if (n->type == PW_NODE_SCALAR && pw_node_is_string(n))
		xerr(p, n, "expected a non-empty string without NUL bytes");
	else
		xerr(p, n, "expected string, got %s", pw_node_kind_name(n));
	return false;
}

/* ---- selectors, ports, peers ---------------------------------------- */

static int parse_labels(struct xparse *p, struct pw_labels *l,
			const struct pw_ynode *n)
{
	if (!want_type(p, n, PW_NODE_MAP, "a mapping of labels"))
		return 0;
	for (size_t i = 0; i < n->map.n; i++) {
		const struct pw_pair *kv = &n->map.pairs[i];
		size_t mark;

		if (!want_string(p, kv->key))
			continue;
		mark = pw_path_push(&p->path, kv->key->scalar.text);
		if (want_string(p, kv->value) &&
		    pw_labels_set(l, kv->key->scalar.text,
				  kv->value->scalar.text))
			return -ENOMEM;
		pw_path_pop(&p->path, mark);
	}
	return 0;
}

static int parse_sel(struct xparse *p, struct pw_xsel *s,
		     const struct pw_ynode *n)
{
	s->pos = n->pos;
	if (!want_type(p, n, PW_NODE_MAP, "a selector mapping"))
		return 0;
	for (size_t i = 0; i < n->map.n; i++) {
		const struct pw_pair *kv = &n->map.pairs[i];
		const char *key;
		size_t mark;
		int err = 0;

		if (!want_string(p, kv->key))
			continue;
		key = kv->key->scalar.text;
		mark = pw_path_push(&p->path, key);
		if (!strcmp(key, "namespace")) {
			if (want_string(p, kv->value) &&
			    !(s->ns = strdup(kv->value->scalar.text)))
				err = -ENOMEM;
		} else if (!strcmp(key, "pod")) {
			err = parse_labels(p, &s->labels, kv->value);
		} else {
			xerr(p, kv->key,
			     "unknown field \"%s\" (a selector has namespace "
			     "and pod)",
			     key);
		}
		pw_path_pop(&p->path, mark);
		if (err)
			return err;
	}
	return 0;
}

static bool parse_port(struct xparse *p, const struct pw_ynode *n,
		       struct pw_port *out)
{
	int64_t num;

	if (!visit(p, n))
		return false;
	if (n->type == PW_NODE_SCALAR && pw_node_as_int(n, &num)) {
		if (num >= 1 && num <= 65535) {
			*out = (struct pw_port){ .num = (uint16_t)num };
			return true;
		}
	} else if (n->type == PW_NODE_SCALAR && pw_node_is_string(n) &&
		   !pw_port_parse(n->scalar.text, out) && out->num) {
		return true;
	}
	if (n->type == PW_NODE_SCALAR)
		xerr(p, n,
		     "\"%s\" is not a port such as 80, 80/TCP, 53/UDP or "
		     "9000/SCTP (1-65535)",
		     n->scalar.text);
	else
		xerr(p, n, "expected a port, got %s", pw_node_kind_name(n));
	return false;
}

static int port_qcmp(const void *a, const void *b)
{
	return pw_port_cmp(a, b);
}

static int parse_ports(struct xparse *p, struct pw_expect *x,
		       const struct pw_ynode *n)
{
	size_t cap = 0, w = 0;

	if (!want_type(p, n, PW_NODE_SEQ, "a list of ports"))
		return 0;
	if (!n->seq.n)
		xerr(p, n, "lists no port");
	for (size_t i = 0; i < n->seq.n; i++) {
		size_t mark = pw_path_index(&p->path, NULL, i);
		struct pw_port port, *slot;

		if (parse_port(p, n->seq.items[i], &port)) {
			slot = PW_PUSH(x->ports, x->nports, cap);
			if (!slot)
				return -ENOMEM;
			*slot = port;
		}
		pw_path_pop(&p->path, mark);
	}
	if (x->nports)
		qsort(x->ports, x->nports, sizeof(*x->ports), port_qcmp);
	for (size_t r = 1; r < x->nports; r++)
		if (pw_port_cmp(&x->ports[r], &x->ports[w]))
			x->ports[++w] = x->ports[r];
	x->nports = x->nports ? w + 1 : 0;
	return 0;
}

/* A CIDR, or a single address standing for its full-length prefix. */
static void parse_cidr(struct xparse *p, struct pw_xpeer *peer,
		       const struct pw_ynode *n)
{
	const char *why = NULL;
	bool host = false;

	peer->is_cidr = true;
	if (!strchr(n->scalar.text, '/') &&
	    !pw_addr_parse(n->scalar.text, &peer->cidr.addr)) {
		peer->cidr.len = (uint8_t)pw_addr_bits(&peer->cidr.addr);
		return;
	}
	if (pw_cidr_parse(n->scalar.text, &peer->cidr, &host, &why))
		xerr(p, n, "\"%s\" is not a CIDR: %s", n->scalar.text,
		     why ? why : "invalid");
	else if (host)
		xerr(p, n,
		     "\"%s\" has host bits set: write the network address",
		     n->scalar.text);
}

static int parse_peers(struct xparse *p, struct pw_expect *x,
		       const struct pw_ynode *n)
{
	size_t cap = 0;

	if (!want_type(p, n, PW_NODE_SEQ, "a list of selectors and CIDRs"))
		return 0;
	if (!n->seq.n)
		xerr(p, n, "lists nothing");
	for (size_t i = 0; i < n->seq.n; i++) {
		const struct pw_ynode *item = n->seq.items[i];
		size_t mark = pw_path_index(&p->path, NULL, i);
		struct pw_xpeer *peer = PW_PUSH(x->peers, x->npeers, cap);
		int err = 0;

		if (!peer)
			return -ENOMEM;
		peer->pos = item->pos;
		if (item->type == PW_NODE_MAP)
			err = parse_sel(p, &peer->sel, item);
		else if (want_string(p, item))
			parse_cidr(p, peer, item);
		pw_path_pop(&p->path, mark);
		if (err)
			return err;
	}
	return 0;
}

/* ---- the keys of an expectation ------------------------------------- */

/* What an expectation item says while it is being read. */
struct xitem {
	struct pw_expect *x;
	const struct pw_ynode *map;
	const struct pw_ynode *kind_key, *name_key, *from_key, *to_key;
	const struct pw_ynode *ports_key;
	bool has_kind;
};

static int key_name(struct xparse *p, struct xitem *it,
		    const struct pw_ynode *v)
{
	if (want_string(p, v) && !(it->x->name = strdup(v->scalar.text)))
		return -ENOMEM;
	return 0;
}

static int key_from(struct xparse *p, struct xitem *it,
		    const struct pw_ynode *v)
{
	return parse_sel(p, &it->x->from, v);
}

static int key_to(struct xparse *p, struct xitem *it, const struct pw_ynode *v)
{
	return parse_sel(p, &it->x->to, v);
}

static int key_ports(struct xparse *p, struct xitem *it,
		     const struct pw_ynode *v)
{
	return parse_ports(p, it->x, v);
}

static int key_deny(struct xparse *p, struct xitem *it,
		    const struct pw_ynode *v)
{
	if (v->type == PW_NODE_SCALAR && pw_node_is_string(v) &&
	    !strcmp(v->scalar.text, "all")) {
		it->x->all_ports = true;
		return 0;
	}
	if (v->type == PW_NODE_SCALAR) {
		xerr(p, v, "expected \"all\" or a list of ports");
		return 0;
	}
	return parse_ports(p, it->x, v);
}

static int key_peers(struct xparse *p, struct xitem *it,
		     const struct pw_ynode *v)
{
	return parse_peers(p, it->x, v);
}

static void parse_direction(struct xparse *p, struct pw_expect *x,
			    const struct pw_ynode *v)
{
	static const struct {
		const char *name;
		bool in, eg;
	} dirs[] = {
		{ "ingress", true, false },
		{ "egress", false, true },
		{ "both", true, true },
	};

	if (!want_string(p, v))
		return;
	for (size_t i = 0; i < PW_ARRAY_SIZE(dirs); i++) {
		if (!strcmp(v->scalar.text, dirs[i].name)) {
			x->dirs[PW_DIR_INGRESS] = dirs[i].in;
			x->dirs[PW_DIR_EGRESS] = dirs[i].eg;
			return;
		}
	}
	xerr(p, v, "\"%s\" is not a direction: ingress, egress or both",
	     v->scalar.text);
}

static int key_isolated(struct xparse *p, struct xitem *it,
			const struct pw_ynode *v)
{
	struct pw_expect *x = it->x;

	x->dirs[PW_DIR_INGRESS] = x->dirs[PW_DIR_EGRESS] = true;
	if (!want_type(p, v, PW_NODE_MAP, "a mapping"))
		return 0;
	for (size_t i = 0; i < v->map.n; i++) {
		const struct pw_pair *kv = &v->map.pairs[i];
		size_t mark;

		if (!want_string(p, kv->key))
			continue;
		mark = pw_path_push(&p->path, kv->key->scalar.text);
		if (!strcmp(kv->key->scalar.text, "namespace")) {
			if (want_string(p, kv->value) &&
			    !(x->ns = strdup(kv->value->scalar.text)))
				return -ENOMEM;
		} else if (!strcmp(kv->key->scalar.text, "direction")) {
			parse_direction(p, x, kv->value);
		} else {
			xerr(p, kv->key,
			     "unknown field \"%s\" (isolated has namespace "
			     "and direction)",
			     kv->key->scalar.text);
		}
		pw_path_pop(&p->path, mark);
	}
	if (!x->ns)
		xerr(p, v, "namespace is required");
	return 0;
}

enum { K_NONE = -1 };

/* The keys of an expectation; kind is the kind the key makes it. */
static const struct xkey {
	const char *name;
	int (*fn)(struct xparse *, struct xitem *, const struct pw_ynode *);
	int kind;
	size_t slot; /* offsetof the key pointer in struct xitem, or 0 */
} xkeys[] = {
	{ "name", key_name, K_NONE, offsetof(struct xitem, name_key) },
	{ "from", key_from, K_NONE, offsetof(struct xitem, from_key) },
	{ "to", key_to, K_NONE, offsetof(struct xitem, to_key) },
	{ "ports", key_ports, K_NONE, offsetof(struct xitem, ports_key) },
	{ "deny", key_deny, PW_EXPECT_DENY, 0 },
	{ "allow", key_ports, PW_EXPECT_ALLOW, 0 },
	{ "only-from", key_peers, PW_EXPECT_ONLY_FROM, 0 },
	{ "egress-only-to", key_peers, PW_EXPECT_EGRESS_ONLY_TO, 0 },
	{ "isolated", key_isolated, PW_EXPECT_ISOLATED, 0 },
};

/* Which of from, to and ports each kind takes: 2 required, 1 optional,
 * 0 not allowed. */
static const struct {
	unsigned char from, to, ports;
} kind_fields[PW_EXPECT_NR] = {
	[PW_EXPECT_DENY] = { 2, 2, 0 },
	[PW_EXPECT_ALLOW] = { 2, 2, 0 },
	[PW_EXPECT_ONLY_FROM] = { 0, 2, 1 },
	[PW_EXPECT_EGRESS_ONLY_TO] = { 2, 0, 1 },
	[PW_EXPECT_ISOLATED] = { 0, 0, 0 },
};

static const struct xkey *find_key(const char *name)
{
	for (size_t i = 0; i < PW_ARRAY_SIZE(xkeys); i++)
		if (!strcmp(xkeys[i].name, name))
			return &xkeys[i];
	return NULL;
}

static int item_key(struct xparse *p, struct xitem *it,
		    const struct pw_pair *kv)
{
	const struct xkey *k;
	size_t mark;
	int err;

	if (!want_string(p, kv->key))
		return 0;
	k = find_key(kv->key->scalar.text);
	if (!k) {
		xerr(p, kv->key,
		     "unknown field \"%s\" (an expectation has name, from, "
		     "to, ports and one of deny, allow, only-from, "
		     "egress-only-to, isolated)",
		     kv->key->scalar.text);
		return 0;
	}
	if (k->kind != K_NONE && it->has_kind) {
		xerr(p, kv->key,
		     "\"%s\" and \"%s\" in one expectation: "
		     "write two expectations",
		     kv->key->scalar.text, it->kind_key->scalar.text);
		return 0;
	}
	if (k->kind != K_NONE) {
		it->has_kind = true;
		it->kind_key = kv->key;
		it->x->kind = (enum pw_expect_kind)k->kind;
	}
	if (k->slot)
		*(const struct pw_ynode **)((char *)it + k->slot) = kv->key;
	mark = pw_path_push(&p->path, kv->key->scalar.text);
	err = k->fn(p, it, kv->value);
	pw_path_pop(&p->path, mark);
	return err;
}

static void field_rule(struct xparse *p, const struct xitem *it,
		       const struct pw_ynode *key, const char *field,
		       unsigned char rule)
{
	const char *kind = kind_names[it->x->kind];

	if (rule == 2 && !key)
		xerr(p, it->map, "%s needs \"%s\"", kind, field);
	else if (rule == 0 && key)
		xerr(p, key, "%s takes no \"%s\"%s", kind, field,
		     !strcmp(field, "ports") &&
				     it->x->kind != PW_EXPECT_ISOLATED ?
			     ": list the ports in its value" :
			     "");
}

static void item_check(struct xparse *p, const struct xitem *it)
{
	if (!it->name_key)
		xerr(p, it->map, "name is required");
	if (!it->has_kind) {
		xerr(p, it->map,
		     "says nothing: add one of deny, allow, only-from, "
		     "egress-only-to, isolated");
		return;
	}
	field_rule(p, it, it->from_key, "from", kind_fields[it->x->kind].from);
	field_rule(p, it, it->to_key, "to", kind_fields[it->x->kind].to);
	field_rule(p, it, it->ports_key, "ports",
		   kind_fields[it->x->kind].ports);
	/* only-from and egress-only-to without ports: every port */
	if (kind_fields[it->x->kind].ports == 1 && !it->ports_key)
		it->x->all_ports = true;
}

static int parse_item(struct xparse *p, struct pw_expect *x,
		      const struct pw_ynode *n)
{
	struct xitem it = { .x = x, .map = n };
	int err;

	x->pos = n->pos;
	if (!want_type(p, n, PW_NODE_MAP, "an expectation mapping"))
		return 0;
	for (size_t i = 0; i < n->map.n; i++) {
		err = item_key(p, &it, &n->map.pairs[i]);
		if (err)
			return err;
	}
	item_check(p, &it);
	return 0;
}

/* ---- the document ----------------------------------------------------- */

/* The value of an item's name, for pointing at it. */
static const struct pw_ynode *name_node(const struct pw_ynode *item)
{
	const struct pw_ynode *n = pw_node_get(item, "name");

	return n ? n : item;
}

static void check_names(struct xparse *p, const struct pw_expect_set *s,
			const struct pw_ynode *seq)
{
	for (size_t i = 1; i < s->n; i++) {
		for (size_t j = 0; j < i && s->v[i].name; j++) {
			size_t mark;

			if (!s->v[j].name || strcmp(s->v[i].name, s->v[j].name))
				continue;
			mark = pw_path_index(&p->path, NULL, i);
			pw_path_push(&p->path, "name");
			xerr(p, name_node(seq->seq.items[i]),
			     "duplicate name \"%s\" (first at line %u)",
			     s->v[i].name, (unsigned)s->v[j].pos.line);
			pw_path_pop(&p->path, mark);
			break;
		}
	}
}

static int parse_list(struct xparse *p, struct pw_expect_set *s,
		      const struct pw_ynode *n)
{
	if (!want_type(p, n, PW_NODE_SEQ, "a list of expectations"))
		return 0;
	for (size_t i = 0; i < n->seq.n; i++) {
		size_t mark = pw_path_index(&p->path, NULL, i);
		struct pw_expect *x = PW_PUSH(s->v, s->n, s->cap);
		int err;

		if (!x)
			return -ENOMEM;
		err = parse_item(p, x, n->seq.items[i]);
		pw_path_pop(&p->path, mark);
		if (err)
			return err;
		if (p->over_budget)
			return 0;
	}
	check_names(p, s, n);
	return 0;
}

static int parse_root(struct xparse *p, struct pw_expect_set *s,
		      const struct pw_ynode *root)
{
	const struct pw_ynode *list = NULL;
	int err = 0;

	if (!want_type(p, root, PW_NODE_MAP, "a mapping with \"expectations\""))
		return 0;
	for (size_t i = 0; i < root->map.n; i++) {
		const struct pw_pair *kv = &root->map.pairs[i];

		if (!want_string(p, kv->key))
			continue;
		if (!strcmp(kv->key->scalar.text, "expectations"))
			list = kv->value;
		else
			xerr(p, kv->key, "unknown field \"%s\"",
			     kv->key->scalar.text);
	}
	if (!list) {
		xerr(p, root, "expectations is required");
		return 0;
	}
	pw_path_push(&p->path, "expectations");
	err = parse_list(p, s, list);
	pw_path_pop(&p->path, 0);
	return err;
}

static void xsel_clear(struct pw_xsel *s)
{
	free(s->ns);
	pw_labels_clear(&s->labels);
}

static void expect_clear(struct pw_expect *x)
{
	free(x->name);
	xsel_clear(&x->from);
	xsel_clear(&x->to);
	free(x->ports);
	for (size_t i = 0; i < x->npeers; i++)
		xsel_clear(&x->peers[i].sel);
	free(x->peers);
	free(x->ns);
}

PW_EXPORT void pw_expect_set_free(struct pw_expect_set *x)
{
	if (!x)
		return;
	for (size_t i = 0; i < x->n; i++)
		expect_clear(&x->v[i]);
	free(x->v);
	free(x->file);
	free(x);
}

PW_EXPORT size_t pw_expect_set_count(const struct pw_expect_set *x)
{
	return x->n;
}

static int parse_doc(struct xparse *p, struct pw_expect_set *s)
{
	const struct pw_ynode *root;
	struct pw_pos where = { .file = s->file };

	if (pw_yaml_doc_count(p->y) != 1 || !(root = pw_yaml_doc(p->y, 0))) {
		p->errors++;
		return pw_diags_add(p->d, PW_SEV_ERROR, &where, NULL,
				    "expected one YAML document with "
				    "\"expectations\"");
	}
	return parse_root(p, s, root);
}

PW_EXPORT struct pw_expect_set *pw_expect_set_parse(const char *name,
						    const char *buf, size_t len,
						    struct pw_diags *diags)
{
	struct xparse p = { .d = diags };
	struct pw_expect_set *s = calloc(1, sizeof(*s));
	int err = -ENOMEM;

	pw_path_init(&p.path);
	if (!s || !(s->file = strdup(name ? name : "")))
		goto err_free_set;
	err = pw_yaml_parse(s->file, buf, len, &p.y, diags);
	if (err)
		goto err_free_set;
	err = parse_doc(&p, s);
	pw_yaml_free(p.y);
	if (!err && p.errors)
		err = -EBADMSG;
	if (err)
		goto err_free_set;
	return s;

err_free_set:
	pw_expect_set_free(s);
	errno = -err;
	return NULL;
}

/* Reads all of fd; *out is malloc'ed. 0 or -errno (-EFBIG past the YAML
 * input limit). */
static int read_all(int fd, char **out, size_t *len)
{
	size_t cap = 0, n = 0;
	char *buf = NULL;

	for (;;) {
		ssize_t got;

		if (n == cap) {
			char *t;

			if (cap >= PW_YAML_MAX_INPUT) {
				free(buf);
				return -EFBIG;
			}
			cap = cap ? 2 * cap : 65536;
			t = realloc(buf, cap);
			if (!t) {
				free(buf);
				return -ENOMEM;
			}
			buf = t;
		}
		got = read(fd, buf + n, cap - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			int err = -errno;

			free(buf);
			return err;
		}
		if (!got)
			break;
		n += (size_t)got;
	}
	*out = buf;
	*len = n;
	return 0;
}

PW_EXPORT struct pw_expect_set *pw_expect_set_load(const char *path,
						   struct pw_diags *diags)
{
	struct pw_pos where = { .file = path };
	bool in = !strcmp(path, "-");
	int fd = in ? 0 : open(path, O_RDONLY | O_CLOEXEC);
	struct pw_expect_set *s;
	char *buf = NULL;
	size_t len = 0;
	int err;

	err = fd < 0 ? -errno : read_all(fd, &buf, &len);
	if (!in && fd >= 0)
		close(fd);
	if (err) {
		pw_diags_add(diags, PW_SEV_ERROR, &where, NULL, "%s",
			     strerror(-err));
		errno = -err;
		return NULL;
	}
	s = pw_expect_set_parse(path, buf ? buf : "", len, diags);
	free(buf);
	return s;
}
