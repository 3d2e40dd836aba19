/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A YAML (and so JSON) document tree with the position of every node,
 * built under limits by a fast reader of plain block YAML, or by libyaml
 * for anything else.
 *
 * Limits, because manifests come from anyone: nesting depth, the size of
 * one scalar, the size of the input, and alias expansion. An alias is not
 * copied: it points at the anchored node, so the tree stays as small as
 * the text. Whoever walks the tree through aliases pays for every visit,
 * so each document carries a budget of node visits (pw_yaml_doc_charge),
 * which turns an alias bomb into an error instead of an hour of CPU.
 */
#ifndef PW_YAML_H
#define PW_YAML_H

#include <stdbool.h>
#include <stddef.h>
#include "util.h"

#define PW_YAML_MAX_DEPTH 256
#define PW_YAML_MAX_SCALAR (1u << 20) /* bytes in one scalar */
#define PW_YAML_MAX_INPUT (256u << 20) /* bytes in one file */

/* A node of the tree is a struct pw_ynode ("YAML node"): struct pw_node
 * is a Kubernetes Node (model.h). */

enum pw_node_type {
	PW_NODE_SCALAR,
	PW_NODE_SEQ,
	PW_NODE_MAP,
};

enum pw_scalar_style {
	PW_SCALAR_PLAIN, /* unquoted: may be a number, bool or null */
	PW_SCALAR_QUOTED, /* '...' or "...": always a string */
	PW_SCALAR_BLOCK, /* | or >: always a string */
};

struct pw_ynode;

struct pw_pair {
	struct pw_ynode *key;
	struct pw_ynode *value;
};

struct pw_ynode {
	enum pw_node_type type;
	struct pw_pos pos; /* where the node starts */
	union {
		struct {
			char *text; /* NUL-terminated; may hold NULs */
			size_t len;
			enum pw_scalar_style style;
			bool tagged; /* an explicit tag such as !!str */
			/* what it reads as (yaml.c's enum sval) plus 1, kept
			 * when it is made: walkers ask again and again */
			unsigned char kind;
			bool nul; /* text holds a NUL (len is past it) */
			char *tag; /* NULL when none */
		} scalar;
		struct {
			struct pw_ynode **items;
			size_t n;
		} seq;
		struct {
			struct pw_pair *pairs; /* in document order */
			size_t n;
		} map;
	};
};

/* All documents of one input. */
struct pw_yaml;

/*
 * Parses buf (a YAML stream of any number of documents, or JSON).
 * `file` is the name used in positions and must outlive the result
 * (intern it). On a syntax error or an exceeded limit returns -EBADMSG
 * and records an error with its position in d; -ENOMEM; else 0 and *out.
 * Duplicate keys in a mapping are an error here, as in strict decoding
 * (every duplicate is reported, up to a cap, before the parse fails), and
 * so are merge keys (<<, which JSON and kubectl's strict reading lack),
 * tags other than the core ones (!!str, !!int, !!bool, !!float, !!null,
 * !!map, !!seq, !!binary, !!timestamp, !) and a core tag on text that does
 * not read as its type. An alias to an unknown anchor, or to the
 * collection it sits in, is an error: the tree has no cycles, and its
 * depth through aliases is bounded by PW_YAML_MAX_DEPTH too.
 */
int pw_yaml_parse(const char *file, const char *buf, size_t len,
		  struct pw_yaml **out, struct pw_diags *d);
/*
 * Which reader pw_yaml_parse_with() uses. AUTO, pw_yaml_parse()'s, is a
 * fast one for plain block YAML (yaml_scan.c) that leaves everything else,
 * errors included, to libyaml; the results are the same. The other two
 * are for tests: LIBYAML alone, and FAST alone, which returns -EAGAIN
 * (and records nothing) for an input it leaves to libyaml.
 */
enum pw_yaml_reader {
	PW_YAML_AUTO,
	PW_YAML_LIBYAML,
	PW_YAML_FAST,
};
int pw_yaml_parse_with(const char *file, const char *buf, size_t len,
		       enum pw_yaml_reader r, struct pw_yaml **out,
		       struct pw_diags *d);
/*
 * The fast reader alone, a document at a time, so that memory holds one
 * document's tree and not the input's: fn gets each document as a
 * struct pw_yaml of its own, valid until fn returns; an error from fn
 * ends the read and is returned. -EAGAIN (nothing recorded): the fast
 * reader declined the input, possibly after fn has had some documents;
 * the caller undoes what fn did and reads with pw_yaml_parse_with()
 * (PW_YAML_LIBYAML), which reports what there is to report.
 */
typedef int (*pw_yaml_doc_fn)(void *ctx, struct pw_yaml *y);
int pw_yaml_parse_docs(const char *file, const char *buf, size_t len,
		       pw_yaml_doc_fn fn, void *ctx);
/* NULL is a no-op. */
void pw_yaml_free(struct pw_yaml *y);
size_t pw_yaml_doc_count(const struct pw_yaml *y);
/* Root of document i; NULL for an empty document. */
const struct pw_ynode *pw_yaml_doc(const struct pw_yaml *y, size_t i);

/*
 * Visit budget for document i (10 visits per node it holds, plus 10000):
 * returns false (and records nothing) when walking n more nodes would
 * exceed it; the walker then reports the alias expansion error at its own
 * position.
 */
bool pw_yaml_doc_charge(struct pw_yaml *y, size_t i, size_t n);

/* Helpers for walkers. */
/* The value for key in a mapping, or NULL. */
const struct pw_ynode *pw_node_get(const struct pw_ynode *map, const char *key);
/* A plain scalar that reads as YAML null (~, null, Null, NULL, empty). */
bool pw_node_is_null(const struct pw_ynode *n);
/*
 * Readings of a scalar as kubectl's YAML reader (go-yaml v2, YAML 1.1)
 * makes them; false when it is not one (or, for an integer, when it does
 * not fit in 64 bits). Plain scalars: y/Y/yes/on/true/... and n/no/off/...
 * are booleans, 0x1F, 0o17, 017, 0b101, +80, 1_000 integers, 08, 1.5, 1e3,
 * .inf floats. Quoted and block scalars are always strings; an explicit
 * tag (!!int "80", !!str 80) decides over the style.
 */
bool pw_node_as_int(const struct pw_ynode *n, int64_t *out);
bool pw_node_as_bool(const struct pw_ynode *n, bool *out);
/* Whether a scalar is a string in the strict sense kubectl applies: not
 * a plain scalar that reads as null, bool, int or float. */
bool pw_node_is_string(const struct pw_ynode *n);
/* "mapping", "sequence", "string", "integer", "boolean", "null",
 * "float"; "nothing" for NULL. */
const char *pw_node_kind_name(const struct pw_ynode *n);

#endif
