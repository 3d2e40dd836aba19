// SPDX-License-Identifier: Apache-2.0
/*
 * YAML and JSON documents as trees with positions, built from events: the
 * fast reader's (yaml_scan.c) for plain block YAML, else libyaml's event
 * parser (neither recurses past PW_YAML_MAX_DEPTH, so depth costs us only
 * our own stack of open collections).
 *
 * Memory: nodes, texts and child arrays come from one chunked arena per
 * input, freed at once. While a collection is open its children wait on a
 * shared scratch stack and are copied into the arena when it closes, so
 * there is no per-node malloc.
 *
 * Scalars are resolved as kubectl's YAML reader (go-yaml v2, YAML 1.1)
 * resolves them: a plain `yes` is a boolean, `0x1F` an integer, `08` a
 * float, `~` null; quoted and block scalars are strings.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "yaml.h"
#include "yaml_scan.h"

#define TAG_PREFIX "tag:yaml.org,2002:"
#define ARENA_CHUNK (256u << 10)

/* ---- arena -------------------------------------------------------- */

struct chunk {
	struct chunk *next;
	size_t used, size;
	max_align_t data[];
};

struct arena {
	struct chunk *head;
};

/* n bytes aligned to align (a power of two). */
static void *arena_alloc_align(struct arena *a, size_t n, size_t align)
{
	struct chunk *c = a->head;
	size_t at = c ? (c->used + align - 1) & ~(align - 1) : 0;
	size_t size;

	if (!c || at > c->size || c->size - at < n) {
		size = n > ARENA_CHUNK ? n : ARENA_CHUNK;
		c = malloc(sizeof(*c) + size);
		if (!c)
			return NULL;
		c->size = size;
		c->next = a->head;
		a->head = c;
		at = 0;
	}
	c->used = at + n;
	return (char *)c->data + at;
}

/* Nodes and arrays of pointers. */
static void *arena_alloc(struct arena *a, size_t n)
{
	return arena_alloc_align(a, n, sizeof(void *));
}

/* Texts are packed: most are a few bytes long. */
static char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc_align(a, n + 1, 1);

	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

/* Empties the arena but keeps its newest chunk for what comes next. */
static void arena_reset(struct arena *a)
{
	struct chunk *c = a->head, *next;

	if (!c)
		return;
	for (next = c->next, c->next = NULL; next; next = c) {
		c = next->next;
		free(next);
	}
	a->head->used = 0;
}

static void arena_free(struct arena *a)
{
	struct chunk *c = a->head, *next;

	for (; c; c = next) {
		next = c->next;
		free(c);
	}
	a->head = NULL;
}

/* ---- the result --------------------------------------------------- */

struct doc {
	struct pw_ynode *root;
	size_t budget; /* node visits left */
};

struct pw_yaml {
	struct arena arena;
	struct doc *docs;
	size_t ndocs, cap_docs;
};

void pw_yaml_free(struct pw_yaml *y)
{
	if (!y)
		return;
	arena_free(&y->arena);
	free(y->docs);
	free(y);
}

size_t pw_yaml_doc_count(const struct pw_yaml *y)
{
	return y ? y->ndocs : 0;
}

const struct pw_ynode *pw_yaml_doc(const struct pw_yaml *y, size_t i)
{
	const struct pw_ynode *n;

	if (!y || i >= y->ndocs)
		return NULL;
	n = y->docs[i].root;
	return n && pw_node_is_null(n) ? NULL : n;
}

bool pw_yaml_doc_charge(struct pw_yaml *y, size_t i, size_t n)
{
	struct doc *d;

	if (!y || i >= y->ndocs)
		return false;
	d = &y->docs[i];
	if (n > d->budget) {
		d->budget = 0;
		return false;
	}
	d->budget -= n;
	return true;
}

/* ---- parser state ------------------------------------------------- */

/* An open collection: its children are scratch[start..]. */
struct frame {
	struct pw_ynode *node;
	char *anchor; /* to register when it closes */
	size_t start;
	size_t height; /* of the tallest child, through aliases */
};

struct anchor {
	char *name; /* arena; NULL for an empty slot */
	struct pw_ynode *node;
	size_t height;
};

struct parser {
	yaml_parser_t yp;
	bool fast; /* reading with pw_yaml_scan(): an error is -EAGAIN */
	pw_yaml_doc_fn each; /* pw_yaml_parse_docs()'s, or NULL */
	void *each_ctx;
	struct pw_yaml *y;
	struct pw_diags *d;
	const char *file;
	struct frame *stack;
	size_t depth, cap_stack;
	struct pw_ynode **scratch;
	size_t nscratch, cap_scratch;
	struct anchor *anchors; /* open addressing, power-of-two size */
	size_t nanchors, cap_anchors;
	size_t nodes; /* created in the current document */
	struct pw_ynode *root;
	bool failed; /* an error was recorded: -EBADMSG */
	size_t nerrors;
	const struct pw_pair **keys; /* scratch for check_keys() */
	size_t cap_keys;
};

/* Errors that do not stop the parse (duplicate keys) stop it after this
 * many: a flood of records is no use to anyone. */
#define MAX_ERRORS 100

static struct pw_pos mark_pos(const struct parser *p, size_t line, size_t col)
{
	return (struct pw_pos){ .file = p->file,
				.line = (uint32_t)line + 1,
				.col = (uint32_t)col + 1 };
}

static struct pw_pos ev_pos(const struct parser *p, const struct pw_yev *ev)
{
	return mark_pos(p, ev->line, ev->col);
}

/* The field path of the open collections, for messages. */
static void stack_path(const struct parser *p, struct pw_path *path)
{
	pw_path_init(path);
	for (size_t i = 0; i < p->depth; i++) {
		const struct frame *f = &p->stack[i];
		size_t nkids = p->nscratch - f->start;
		struct pw_ynode *key;

		if (i + 1 < p->depth)
			nkids = p->stack[i + 1].start - f->start;
		if (f->node->type == PW_NODE_SEQ) {
			pw_path_pushf(path, "[%zu]", nkids);
			continue;
		}
		if (!(nkids & 1))
			break;
		key = p->scratch[f->start + nkids - 1];
		if (key->type == PW_NODE_SCALAR)
			pw_path_push(path, key->scalar.text);
	}
}

/*
 * Records an error at pos, under the path of the open collections plus
 * seg (may be NULL); a failed parse is -EBADMSG.
 */
static int perr(struct parser *p, struct pw_pos pos, const char *seg,
		const char *fmt, ...) PW_PRINTF(4, 5);
static int perr(struct parser *p, struct pw_pos pos, const char *seg,
		const char *fmt, ...)
{
	struct pw_path path;
	va_list ap;
	int ret;

	/* the fast reader's errors are libyaml's to report */
	if (p->fast) {
		p->failed = true;
		return -EAGAIN;
	}
	stack_path(p, &path);
	if (seg)
		pw_path_push(&path, seg);
	va_start(ap, fmt);
	ret = pw_diags_vadd(p->d, PW_SEV_ERROR, &pos, path.buf, fmt, ap);
	va_end(ap);
	p->failed = true;
	p->nerrors++;
	return ret ? ret : -EBADMSG;
}

/* ---- anchors ------------------------------------------------------ */

static struct anchor *anchor_slot(struct parser *p, const char *name)
{
	size_t mask = p->cap_anchors - 1;
	size_t i = pw_hash_bytes(PW_HASH_INIT, name, strlen(name)) & mask;

	while (p->anchors[i].name && strcmp(p->anchors[i].name, name))
		i = (i + 1) & mask;
	return &p->anchors[i];
}

static int anchor_rehash(struct parser *p)
{
	struct anchor *old = p->anchors;
	size_t ocap = p->cap_anchors;

	p->cap_anchors = ocap ? ocap * 2 : 64;
	p->anchors = calloc(p->cap_anchors, sizeof(*p->anchors));
	if (!p->anchors) {
		p->anchors = old;
		p->cap_anchors = ocap;
		return -ENOMEM;
	}
	for (size_t i = 0; i < ocap; i++)
		if (old[i].name)
			*anchor_slot(p, old[i].name) = old[i];
	free(old);
	return 0;
}

/* Anchors are registered when their node is complete, so an alias can
 * never point into an open collection: the tree has no cycles. */
static int anchor_add(struct parser *p, char *name, struct pw_ynode *n,
		      size_t height)
{
	struct anchor *a;

	if ((p->nanchors + 1) * 2 > p->cap_anchors && anchor_rehash(p))
		return -ENOMEM;
	a = anchor_slot(p, name);
	if (!a->name)
		p->nanchors++;
	a->name = name;
	a->node = n;
	a->height = height;
	return 0;
}

static void anchors_reset(struct parser *p)
{
	if (p->nanchors)
		memset(p->anchors, 0, p->cap_anchors * sizeof(*p->anchors));
	p->nanchors = 0;
}

/* ---- building the tree -------------------------------------------- */

static int check_keys(struct parser *p, const struct pw_ynode *map);

static int scratch_push(struct parser *p, struct pw_ynode *n)
{
	if (pw_grow((void **)&p->scratch, &p->cap_scratch, p->nscratch + 1,
		    sizeof(*p->scratch)))
		return -ENOMEM;
	p->scratch[p->nscratch++] = n;
	return 0;
}

/* Hands a finished node (of the given height) to its parent. */
static int attach(struct parser *p, struct pw_ynode *n, size_t height)
{
	struct frame *f;

	if (!p->depth) {
		p->root = n;
		return 0;
	}
	f = &p->stack[p->depth - 1];
	if (height > f->height)
		f->height = height;
	if (height + p->depth > PW_YAML_MAX_DEPTH)
		return perr(p, n->pos, NULL,
			    "nesting through aliases deeper than %d levels",
			    PW_YAML_MAX_DEPTH);
	return scratch_push(p, n);
}

static struct pw_ynode *node_new(struct parser *p, enum pw_node_type t,
				 const struct pw_yev *ev)
{
	struct pw_ynode *n = arena_alloc(&p->y->arena, sizeof(*n));

	if (n) {
		memset(n, 0, sizeof(*n));
		n->type = t;
		n->pos = ev_pos(p, ev);
		p->nodes++;
	}
	return n;
}

static int keep_anchor(struct parser *p, const char *anchor, char **out)
{
	*out = NULL;
	if (!anchor)
		return 0;
	*out = arena_strndup(&p->y->arena, anchor, strlen(anchor));
	return *out ? 0 : -ENOMEM;
}

static int open_collection(struct parser *p, const struct pw_yev *ev,
			   enum pw_node_type t)
{
	struct pw_ynode *n = node_new(p, t, ev);
	struct frame *f;

	if (!n)
		return -ENOMEM;
	if (p->depth >= PW_YAML_MAX_DEPTH)
		return perr(p, n->pos, NULL, "nesting deeper than %d levels",
			    PW_YAML_MAX_DEPTH);
	if (pw_grow((void **)&p->stack, &p->cap_stack, p->depth + 1,
		    sizeof(*p->stack)))
		return -ENOMEM;
	f = &p->stack[p->depth];
	f->node = n;
	f->start = p->nscratch;
	f->height = 0;
	if (keep_anchor(p, ev->anchor, &f->anchor))
		return -ENOMEM;
	p->depth++;
	return 0;
}

static int close_collection(struct parser *p)
{
	struct frame f = p->stack[--p->depth];
	size_t nkids = p->nscratch - f.start;
	struct pw_ynode **kids = nkids ? p->scratch + f.start : NULL;
	struct pw_ynode *n = f.node;
	int ret;

	if (n->type == PW_NODE_SEQ) {
		n->seq.n = nkids;
		n->seq.items = arena_alloc(&p->y->arena, nkids * sizeof(*kids));
		if (!n->seq.items)
			return -ENOMEM;
		if (nkids)
			memcpy(n->seq.items, kids, nkids * sizeof(*kids));
	} else {
		n->map.n = nkids / 2;
		n->map.pairs = arena_alloc(&p->y->arena,
					   n->map.n * sizeof(*n->map.pairs));
		if (!n->map.pairs)
			return -ENOMEM;
		for (size_t i = 0; i < n->map.n; i++) {
			n->map.pairs[i].key = kids[2 * i];
			n->map.pairs[i].value = kids[2 * i + 1];
		}
	}
	p->nscratch = f.start;
	if (n->type == PW_NODE_MAP && (ret = check_keys(p, n)))
		return ret;
	if (f.anchor && (ret = anchor_add(p, f.anchor, n, f.height + 1)))
		return ret;
	return attach(p, n, f.height + 1);
}

/* ---- scalar resolution (YAML 1.1, as go-yaml v2 does it) ---------- */

enum sval {
	SV_STR,
	SV_NULL,
	SV_BOOL,
	SV_INT,
	SV_FLOAT,
	SV_MERGE,
};

struct word {
	const char *text;
	size_t len;
	enum sval kind;
	bool value;
};

#define W(s, k, v)                     \
	{                              \
		s, sizeof(s) - 1, k, v \
	}

static const struct word words[] = {
	W("~", SV_NULL, false),	     W("null", SV_NULL, false),
	W("Null", SV_NULL, false),   W("NULL", SV_NULL, false),
	W("y", SV_BOOL, true),	     W("Y", SV_BOOL, true),
	W("yes", SV_BOOL, true),     W("Yes", SV_BOOL, true),
	W("YES", SV_BOOL, true),     W("on", SV_BOOL, true),
	W("On", SV_BOOL, true),	     W("ON", SV_BOOL, true),
	W("true", SV_BOOL, true),    W("True", SV_BOOL, true),
	W("TRUE", SV_BOOL, true),    W("n", SV_BOOL, false),
	W("N", SV_BOOL, false),	     W("no", SV_BOOL, false),
	W("No", SV_BOOL, false),     W("NO", SV_BOOL, false),
	W("off", SV_BOOL, false),    W("Off", SV_BOOL, false),
	W("OFF", SV_BOOL, false),    W("false", SV_BOOL, false),
	W("False", SV_BOOL, false),  W("FALSE", SV_BOOL, false),
	W(".inf", SV_FLOAT, false),  W(".Inf", SV_FLOAT, false),
	W(".INF", SV_FLOAT, false),  W("+.inf", SV_FLOAT, false),
	W("+.Inf", SV_FLOAT, false), W("+.INF", SV_FLOAT, false),
	W("-.inf", SV_FLOAT, false), W("-.Inf", SV_FLOAT, false),
	W("-.INF", SV_FLOAT, false), W(".nan", SV_FLOAT, false),
	W(".NaN", SV_FLOAT, false),  W(".NAN", SV_FLOAT, false),
	W("<<", SV_MERGE, false),
};

/* What a plain scalar's first character says it may be: most scalars
 * are names, which start with neither. */
enum { MAY_WORD = 1, MAY_NUMBER = 2 };
/* clang-format off */
static const unsigned char starts[256] = {
	['~'] = MAY_WORD, ['<'] = MAY_WORD,
	['n'] = MAY_WORD, ['N'] = MAY_WORD, ['y'] = MAY_WORD, ['Y'] = MAY_WORD,
	['o'] = MAY_WORD, ['O'] = MAY_WORD, ['t'] = MAY_WORD, ['T'] = MAY_WORD,
	['f'] = MAY_WORD, ['F'] = MAY_WORD,
	['.'] = MAY_WORD | MAY_NUMBER, ['+'] = MAY_WORD | MAY_NUMBER,
	['-'] = MAY_WORD | MAY_NUMBER,
	['0'] = MAY_NUMBER, ['1'] = MAY_NUMBER, ['2'] = MAY_NUMBER,
	['3'] = MAY_NUMBER, ['4'] = MAY_NUMBER, ['5'] = MAY_NUMBER,
	['6'] = MAY_NUMBER, ['7'] = MAY_NUMBER, ['8'] = MAY_NUMBER,
	['9'] = MAY_NUMBER,
};
/* clang-format on */

static unsigned char start_of(const char *s)
{
	return starts[(unsigned char)s[0]];
}

static const struct word *find_word(const char *s, size_t len)
{
	if (len > 5 || !(start_of(s) & MAY_WORD))
		return NULL;
	for (size_t i = 0; i < PW_ARRAY_SIZE(words); i++)
		if (words[i].len == len && !memcmp(words[i].text, s, len))
			return &words[i];
	return NULL;
}

static int digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 10;
	return 99;
}

/* Digits of one base into *out; false on a bad digit, no digit or
 * overflow of uint64. */
static bool parse_digits(const char *s, size_t len, unsigned base,
			 uint64_t *out)
{
	uint64_t v = 0;
	unsigned dv;

	if (!len)
		return false;
	for (size_t i = 0; i < len; i++) {
		dv = (unsigned)digit_value(s[i]);
		if (dv >= base || __builtin_mul_overflow(v, base, &v) ||
		    __builtin_add_overflow(v, dv, &v))
			return false;
	}
	*out = v;
	return true;
}

/* strconv.ParseInt(s, 0, 64) with the '_' already removed: a sign, then
 * 0x / 0o / 0b / 0 (octal) prefixes. *fits says whether it fits int64. */
static bool parse_go_int(const char *s, size_t len, int64_t *out, bool *fits)
{
	bool neg = false;
	unsigned base = 10;
	uint64_t u;

	if (len && (s[0] == '+' || s[0] == '-')) {
		neg = s[0] == '-';
		s++, len--;
	}
	if (len > 2 && s[0] == '0' && strchr("xXoObB", s[1])) {
		base = strchr("xX", s[1]) ? 16 : strchr("oO", s[1]) ? 8 : 2;
		s += 2, len -= 2;
	} else if (len > 1 && s[0] == '0') {
		base = 8;
		s++, len--;
	}
	if (!parse_digits(s, len, base, &u))
		return false;
	*fits = neg ? u <= (uint64_t)INT64_MAX + 1 : u <= INT64_MAX;
	if (*fits)
		*out = neg ? (int64_t)(0 - u) : (int64_t)u;
	return true;
}

static size_t skip_digits(const char *s, size_t i, size_t len)
{
	while (i < len && s[i] >= '0' && s[i] <= '9')
		i++;
	return i;
}

/* ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static bool is_yaml_float(const char *s, size_t len)
{
	size_t i = 0, j;

	if (i < len && (s[i] == '+' || s[i] == '-'))
		i++;
	if (i < len && s[i] == '.') {
		j = skip_digits(s, i + 1, len);
		if (j == i + 1)
			return false;
	} else {
		j = skip_digits(s, i, len);
		if (j == i)
			return false;
		if (j < len && s[j] == '.')
			j = skip_digits(s, j + 1, len);
	}
	if (j < len && (s[j] == 'e' || s[j] == 'E')) {
		i = j + 1;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		j = skip_digits(s, i, len);
		if (j == i)
			return false;
	}
	return j == len;
}

/* ParseFloat fails on overflow, and go-yaml then keeps the text. */
static bool float_in_range(char *buf, size_t n)
{
	double v;

	buf[n] = '\0';
	errno = 0;
	v = strtod(buf, NULL);
	return !(errno == ERANGE && (v > 1.0 || v < -1.0));
}

/* Resolves a number-looking plain scalar; SV_STR when it is not one. */
static enum sval resolve_number(const char *s, size_t len, int64_t *iv,
				bool *fits)
{
	char buf[128];
	size_t n = 0;

	if (len >= sizeof(buf))
		return SV_STR;
	for (size_t i = 0; i < len; i++)
		if (s[i] != '_')
			buf[n++] = s[i];
	if (parse_go_int(buf, n, iv, fits))
		return SV_INT;
	if (is_yaml_float(buf, n) && float_in_range(buf, n))
		return SV_FLOAT;
	return SV_STR;
}

static enum sval resolve_plain(const char *s, size_t len, int64_t *iv,
			       bool *fits, bool *bv)
{
	const struct word *w;

	if (!len)
		return SV_NULL;
	w = find_word(s, len);
	if (w) {
		*bv = w->value;
		return w->kind;
	}
	if (start_of(s) & MAY_NUMBER)
		return resolve_number(s, len, iv, fits);
	return SV_STR;
}

/* Explicit tags we accept and what they make of a scalar. */
struct tag_rule {
	const char *suffix; /* after "tag:yaml.org,2002:" */
	enum sval kind;
	bool any; /* any text is fine (string-like) */
};

static const struct tag_rule tag_rules[] = {
	{ "str", SV_STR, true },       { "binary", SV_STR, true },
	{ "timestamp", SV_STR, true }, { "null", SV_NULL, false },
	{ "bool", SV_BOOL, false },    { "int", SV_INT, false },
	{ "float", SV_FLOAT, false },
};

static const struct tag_rule *find_tag(const char *tag)
{
	size_t plen = strlen(TAG_PREFIX);

	if (!strcmp(tag, "!"))
		return &tag_rules[0];
	if (strncmp(tag, TAG_PREFIX, plen))
		return NULL;
	for (size_t i = 0; i < PW_ARRAY_SIZE(tag_rules); i++)
		if (!strcmp(tag + plen, tag_rules[i].suffix))
			return &tag_rules[i];
	return NULL;
}

/* What a scalar node is, with its value for ints and bools. */
static enum sval scalar_value(const struct pw_ynode *n, int64_t *iv, bool *fits,
			      bool *bv)
{
	const struct tag_rule *t;
	enum sval k;

	*fits = true;
	if (n->type != PW_NODE_SCALAR)
		return SV_STR;
	if (n->scalar.tag) {
		t = find_tag(n->scalar.tag);
		if (!t || t->any)
			return SV_STR;
		k = resolve_plain(n->scalar.text, n->scalar.len, iv, fits, bv);
		/* !!float 1 is the float 1 (checked at parse time) */
		return t->kind == SV_FLOAT ? SV_FLOAT : k;
	}
	if (n->scalar.style != PW_SCALAR_PLAIN)
		return SV_STR;
	k = resolve_plain(n->scalar.text, n->scalar.len, iv, fits, bv);
	return k == SV_MERGE ? SV_STR : k;
}

/* What a scalar node is, without its value: kept in the node. */
static enum sval scalar_kind(const struct pw_ynode *n)
{
	int64_t iv;
	bool fits, bv;

	if (n->scalar.kind)
		return (enum sval)(n->scalar.kind - 1);
	return scalar_value(n, &iv, &fits, &bv);
}

/* An explicit tag must fit the node: !!int on text that reads as one. */
static int check_tag(struct parser *p, const struct pw_ynode *n)
{
	const struct tag_rule *t;
	enum sval k;
	int64_t iv;
	bool fits, bv;

	if (!n->scalar.tag)
		return 0;
	t = find_tag(n->scalar.tag);
	if (!t)
		return perr(p, n->pos, NULL, "unsupported tag %s",
			    n->scalar.tag);
	if (t->any)
		return 0;
	k = resolve_plain(n->scalar.text, n->scalar.len, &iv, &fits, &bv);
	if (k == t->kind || (t->kind == SV_FLOAT && k == SV_INT))
		return 0;
	return perr(p, n->pos, NULL, "cannot read \"%s\" as !!%s",
		    n->scalar.text, t->suffix);
}

/* ---- mapping keys ------------------------------------------------- */

static bool is_merge_key(const struct pw_ynode *k)
{
	return k->type == PW_NODE_SCALAR && !k->scalar.tag &&
	       k->scalar.style == PW_SCALAR_PLAIN && k->scalar.len == 2 &&
	       !memcmp(k->scalar.text, "<<", 2);
}

static int key_cmp(const struct pw_ynode *a, const struct pw_ynode *b)
{
	if (a->scalar.len != b->scalar.len)
		return a->scalar.len < b->scalar.len ? -1 : 1;
	return memcmp(a->scalar.text, b->scalar.text, a->scalar.len);
}

/* Orders scalar keys by text, then by place in the document. */
static int pair_ptr_cmp(const void *pa, const void *pb)
{
	const struct pw_pair *a = *(const struct pw_pair *const *)pa;
	const struct pw_pair *b = *(const struct pw_pair *const *)pb;
	int r = key_cmp(a->key, b->key);

	return r ? r : (a < b ? -1 : a > b);
}

static int dup_key(struct parser *p, const struct pw_ynode *first,
		   const struct pw_ynode *again)
{
	return perr(p, again->pos, first->scalar.text,
		    "duplicate key \"%s\" (first at line %u, column %u)",
		    first->scalar.text, first->pos.line, first->pos.col);
}

/* Few keys: compare all pairs; many: sort pointers and compare
 * neighbours, so a mapping of 100k keys costs n log n, not n^2. */
static int find_dups(struct parser *p, const struct pw_pair **v, size_t n)
{
	const struct pw_pair *orig;
	size_t first = 0;

	if (n > 8)
		qsort(v, n, sizeof(*v), pair_ptr_cmp);
	for (size_t i = 1; i < n && p->nerrors < MAX_ERRORS; i++) {
		orig = NULL;
		if (n <= 8) {
			for (size_t j = 0; j < i && !orig; j++)
				if (!key_cmp(v[j]->key, v[i]->key))
					orig = v[j];
		} else if (key_cmp(v[first]->key, v[i]->key)) {
			first = i;
		} else {
			orig = v[first];
		}
		if (orig && dup_key(p, orig->key, v[i]->key) == -ENOMEM)
			return -ENOMEM;
	}
	return 0;
}

/* Keys are compared by text: "80" and 80 are the same JSON key. The
 * pointers to compare go in a buffer the parser keeps for all mappings. */
static int check_keys(struct parser *p, const struct pw_ynode *map)
{
	const struct pw_ynode *k;
	size_t n = 0;
	int ret = 0;

	if (pw_grow((void **)&p->keys, &p->cap_keys, map->map.n + 1,
		    sizeof(*p->keys)))
		return -ENOMEM;
	for (size_t i = 0; i < map->map.n && ret != -ENOMEM; i++) {
		k = map->map.pairs[i].key;
		if (is_merge_key(k))
			ret = perr(p, k->pos, NULL,
				   "merge keys (<<) are not supported by "
				   "kubectl's strict decoding");
		else if (k->type == PW_NODE_SCALAR)
			p->keys[n++] = &map->map.pairs[i];
	}
	if (ret != -ENOMEM && find_dups(p, p->keys, n) == -ENOMEM)
		ret = -ENOMEM;
	/* Key errors do not stop the parse: report them all, then fail. */
	if (ret == -ENOMEM || p->nerrors >= MAX_ERRORS)
		return ret == -ENOMEM ? ret : -EBADMSG;
	return 0;
}

/* ---- events ------------------------------------------------------- */

static int on_scalar(struct parser *p, const struct pw_yev *ev)
{
	const struct pw_pos pos = ev_pos(p, ev);
	size_t len = ev->len;
	struct arena *a = &p->y->arena;
	const char *tag = ev->tag;
	struct pw_ynode *n;
	char *anchor;
	int64_t iv;
	bool fits, bv;
	int ret;

	if (len > PW_YAML_MAX_SCALAR)
		return perr(p, pos, NULL,
			    "scalar of %zu bytes exceeds the limit of %u", len,
			    PW_YAML_MAX_SCALAR);
	n = node_new(p, PW_NODE_SCALAR, ev);
	if (!n)
		return -ENOMEM;
	n->scalar.len = len;
	n->scalar.style = ev->style;
	n->scalar.text = arena_strndup(a, ev->text, len);
	/* the fast reader reads no NULs */
	n->scalar.nul = !p->fast && n->scalar.text &&
			memchr(n->scalar.text, 0, len);
	if (tag && !(n->scalar.tag = arena_strndup(a, tag, strlen(tag))))
		return -ENOMEM;
	n->scalar.tagged = tag != NULL;
	if (!n->scalar.text || keep_anchor(p, ev->anchor, &anchor))
		return -ENOMEM;
	if ((ret = check_tag(p, n)))
		return ret;
	n->scalar.kind = (unsigned char)(scalar_value(n, &iv, &fits, &bv) + 1);
	if (anchor && (ret = anchor_add(p, anchor, n, 1)))
		return ret;
	return attach(p, n, 1);
}

static int on_alias(struct parser *p, const struct pw_yev *ev)
{
	const char *name = ev->anchor;
	struct anchor *a = NULL;

	if (p->cap_anchors)
		a = anchor_slot(p, name);
	if (!a || !a->name)
		return perr(p, ev_pos(p, ev), NULL,
			    "unknown anchor \"%s\" (or an alias inside the "
			    "node it names)",
			    name);
	p->nodes++;
	return attach(p, a->node, a->height);
}

/* A collection tag other than its own type is a type error in disguise. */
static int check_collection_tag(struct parser *p, const struct pw_yev *ev,
				const char *want)
{
	const char *t = ev->tag;
	size_t plen = strlen(TAG_PREFIX);

	if (!t || !strcmp(t, "!") ||
	    (!strncmp(t, TAG_PREFIX, plen) && !strcmp(t + plen, want)))
		return 0;
	return perr(p, ev_pos(p, ev), NULL, "unsupported tag %s", t);
}

static int on_doc_start(struct parser *p)
{
	anchors_reset(p);
	p->nodes = 0;
	p->root = NULL;
	return 0;
}

static int on_doc_end(struct parser *p)
{
	struct doc *d = PW_PUSH(p->y->docs, p->y->ndocs, p->y->cap_docs);
	int ret;

	if (!d)
		return -ENOMEM;
	d->root = p->root;
	d->budget = 10 * p->nodes + 10000;
	if (!p->each)
		return 0;
	ret = p->each(p->each_ctx, p->y);
	arena_reset(&p->y->arena);
	p->y->ndocs = 0;
	return ret;
}

static int on_event(struct parser *p, const struct pw_yev *ev)
{
	int ret;

	switch (ev->type) {
	case PW_YEV_DOC_START:
		return on_doc_start(p);
	case PW_YEV_DOC_END:
		return on_doc_end(p);
	case PW_YEV_SCALAR:
		return on_scalar(p, ev);
	case PW_YEV_ALIAS:
		return on_alias(p, ev);
	case PW_YEV_SEQ_START:
		ret = check_collection_tag(p, ev, "seq");
		return ret ? ret : open_collection(p, ev, PW_NODE_SEQ);
	case PW_YEV_MAP_START:
		ret = check_collection_tag(p, ev, "map");
		return ret ? ret : open_collection(p, ev, PW_NODE_MAP);
	case PW_YEV_COLL_END:
		return close_collection(p);
	}
	return 0;
}

/* The fast reader's events; any error it would record sends the whole
 * input to libyaml. */
static int on_fast_event(void *ctx, const struct pw_yev *ev)
{
	struct parser *p = ctx;
	int ret = on_event(p, ev);

	return !ret && p->failed ? -EAGAIN : ret;
}

/* ---- libyaml ------------------------------------------------------ */

static enum pw_scalar_style scalar_style(yaml_scalar_style_t s)
{
	switch (s) {
	case YAML_SINGLE_QUOTED_SCALAR_STYLE:
	case YAML_DOUBLE_QUOTED_SCALAR_STYLE:
		return PW_SCALAR_QUOTED;
	case YAML_LITERAL_SCALAR_STYLE:
	case YAML_FOLDED_SCALAR_STYLE:
		return PW_SCALAR_BLOCK;
	default:
		return PW_SCALAR_PLAIN;
	}
}

/* libyaml's event as ours; false for the events we ignore. */
static bool from_libyaml(const yaml_event_t *e, struct pw_yev *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->line = (uint32_t)e->start_mark.line;
	ev->col = (uint32_t)e->start_mark.column;
	switch (e->type) {
	case YAML_DOCUMENT_START_EVENT:
		ev->type = PW_YEV_DOC_START;
		return true;
	case YAML_DOCUMENT_END_EVENT:
		ev->type = PW_YEV_DOC_END;
		return true;
	case YAML_SCALAR_EVENT:
		ev->type = PW_YEV_SCALAR;
		ev->text = (const char *)e->data.scalar.value;
		ev->len = e->data.scalar.length;
		ev->style = scalar_style(e->data.scalar.style);
		ev->tag = (const char *)e->data.scalar.tag;
		ev->anchor = (const char *)e->data.scalar.anchor;
		return true;
	case YAML_ALIAS_EVENT:
		ev->type = PW_YEV_ALIAS;
		ev->anchor = (const char *)e->data.alias.anchor;
		return true;
	case YAML_SEQUENCE_START_EVENT:
		ev->type = PW_YEV_SEQ_START;
		ev->tag = (const char *)e->data.sequence_start.tag;
		ev->anchor = (const char *)e->data.sequence_start.anchor;
		return true;
	case YAML_MAPPING_START_EVENT:
		ev->type = PW_YEV_MAP_START;
		ev->tag = (const char *)e->data.mapping_start.tag;
		ev->anchor = (const char *)e->data.mapping_start.anchor;
		return true;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		ev->type = PW_YEV_COLL_END;
		return true;
	default:
		return false;
	}
}

static int syntax_error(struct parser *p)
{
	const yaml_parser_t *yp = &p->yp;
	const char *problem = yp->problem ? yp->problem : "invalid input";

	if (yp->error == YAML_MEMORY_ERROR)
		return -ENOMEM;
	if (yp->context)
		return perr(p,
			    mark_pos(p, yp->problem_mark.line,
				     yp->problem_mark.column),
			    NULL, "%s (%s started at line %zu, column %zu)",
			    problem, yp->context, yp->context_mark.line + 1,
			    yp->context_mark.column + 1);
	return perr(p,
		    mark_pos(p, yp->problem_mark.line, yp->problem_mark.column),
		    NULL, "%s", problem);
}

static int run(struct parser *p)
{
	yaml_event_t ev;
	struct pw_yev pev;
	bool done = false;
	int ret = 0;

	while (!done && !ret) {
		if (!yaml_parser_parse(&p->yp, &ev))
			return syntax_error(p);
		done = ev.type == YAML_STREAM_END_EVENT;
		if (from_libyaml(&ev, &pev))
			ret = on_event(p, &pev);
		yaml_event_delete(&ev);
	}
	if (!ret && p->failed)
		ret = -EBADMSG;
	return ret;
}

static int run_libyaml(struct parser *p, const char *buf, size_t len)
{
	int ret;

	if (!yaml_parser_initialize(&p->yp))
		return -ENOMEM;
	/* libyaml asserts on a NULL input, even an empty one */
	yaml_parser_set_input_string(
		&p->yp, (const unsigned char *)(buf ? buf : ""), buf ? len : 0);
	ret = run(p);
	yaml_parser_delete(&p->yp);
	return ret;
}

/* Forgets what the fast reader built, for libyaml to start afresh. */
static int parser_reset(struct parser *p)
{
	pw_yaml_free(p->y);
	p->y = calloc(1, sizeof(*p->y));
	p->depth = 0;
	p->nscratch = 0;
	p->nodes = 0;
	p->nerrors = 0;
	p->root = NULL;
	p->failed = false;
	p->fast = false;
	anchors_reset(p);
	return p->y ? 0 : -ENOMEM;
}

static int read_input(struct parser *p, const char *buf, size_t len,
		      enum pw_yaml_reader r)
{
	int ret = -EAGAIN;

	if (r != PW_YAML_LIBYAML) {
		p->fast = true;
		ret = pw_yaml_scan(buf, len, on_fast_event, p);
		if (ret != -EAGAIN || r == PW_YAML_FAST)
			return ret;
		if (parser_reset(p))
			return -ENOMEM;
	}
	return run_libyaml(p, buf, len);
}

int pw_yaml_parse_with(const char *file, const char *buf, size_t len,
		       enum pw_yaml_reader r, struct pw_yaml **out,
		       struct pw_diags *d)
{
	struct parser p = { .d = d, .file = file };
	struct pw_pos pos = { .file = file };
	int ret;

	*out = NULL;
	if (len > PW_YAML_MAX_INPUT) {
		ret = pw_diags_add(d, PW_SEV_ERROR, &pos, NULL,
				   "input of %zu bytes exceeds the limit of %u",
				   len, PW_YAML_MAX_INPUT);
		return ret ? ret : -EBADMSG;
	}
	p.y = calloc(1, sizeof(*p.y));
	if (!p.y)
		return -ENOMEM;
	ret = read_input(&p, buf, len, r);
	free(p.stack);
	free(p.scratch);
	free(p.anchors);
	free(p.keys);
	if (ret) {
		pw_yaml_free(p.y);
		return ret;
	}
	*out = p.y;
	return 0;
}

int pw_yaml_parse_docs(const char *file, const char *buf, size_t len,
		       pw_yaml_doc_fn fn, void *ctx)
{
	struct parser p = {
		.file = file, .fast = true, .each = fn, .each_ctx = ctx
	};
	int ret;

	if (len > PW_YAML_MAX_INPUT)
		return -EAGAIN;
	p.y = calloc(1, sizeof(*p.y));
	if (!p.y)
		return -ENOMEM;
	ret = pw_yaml_scan(buf, len, on_fast_event, &p);
	free(p.stack);
	free(p.scratch);
	free(p.anchors);
	free(p.keys);
	pw_yaml_free(p.y);
	return ret;
}

int pw_yaml_parse(const char *file, const char *buf, size_t len,
		  struct pw_yaml **out, struct pw_diags *d)
{
	return pw_yaml_parse_with(file, buf, len, PW_YAML_AUTO, out, d);
}

/* ---- walking helpers ---------------------------------------------- */

const struct pw_ynode *pw_node_get(const struct pw_ynode *map, const char *key)
{
	size_t len = strlen(key);

	if (!map || map->type != PW_NODE_MAP)
		return NULL;
	for (size_t i = 0; i < map->map.n; i++) {
		const struct pw_ynode *k = map->map.pairs[i].key;

		if (k->type == PW_NODE_SCALAR && k->scalar.len == len &&
		    !memcmp(k->scalar.text, key, len))
			return map->map.pairs[i].value;
	}
	return NULL;
}

bool pw_node_is_null(const struct pw_ynode *n)
{
	return n && n->type == PW_NODE_SCALAR && scalar_kind(n) == SV_NULL;
}

bool pw_node_as_int(const struct pw_ynode *n, int64_t *out)
{
	int64_t iv;
	bool fits, bv;

	if (!n || n->type != PW_NODE_SCALAR || scalar_kind(n) != SV_INT ||
	    scalar_value(n, &iv, &fits, &bv) != SV_INT || !fits)
		return false;
	*out = iv;
	return true;
}

bool pw_node_as_bool(const struct pw_ynode *n, bool *out)
{
	int64_t iv;
	bool fits, bv;

	if (!n || n->type != PW_NODE_SCALAR || scalar_kind(n) != SV_BOOL ||
	    scalar_value(n, &iv, &fits, &bv) != SV_BOOL)
		return false;
	*out = bv;
	return true;
}

bool pw_node_is_string(const struct pw_ynode *n)
{
	return n && n->type == PW_NODE_SCALAR && scalar_kind(n) == SV_STR;
}

const char *pw_node_kind_name(const struct pw_ynode *n)
{
	static const char *const names[] = {
		[SV_STR] = "string",   [SV_NULL] = "null",
		[SV_BOOL] = "boolean", [SV_INT] = "integer",
		[SV_FLOAT] = "float",  [SV_MERGE] = "string",
	};
	if (!n)
		return "nothing";
	if (n->type == PW_NODE_MAP)
		return "mapping";
	if (n->type == PW_NODE_SEQ)
		return "sequence";
	return names[scalar_kind(n)];
}
