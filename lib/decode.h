/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Strict decoding of YAML trees into the cluster model, as kubectl's
 * default (strict) field validation reads manifests: an unknown field, a
 * wrong type or a missing required value is an error with a position and
 * a field path. Each kind's fields are a table (struct pw_field); a field
 * with no handler is known but not modelled and takes any value.
 *
 * The first part is the decoder's entry point; the rest is shared by the
 * decode*.c files only (one per group of kinds).
 */
#ifndef PW_DECODE_H
#define PW_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include "model.h"
#include "yaml.h"

/*
 * Decodes every document of y into c. Errors go to d and are counted in
 * c->load_errors; an object with an error is not added, the others are.
 * Returns 0, -EBADMSG when some document exceeded its alias-expansion
 * budget (none of that document's objects is added), or -ENOMEM.
 */
int pw_decode_yaml(struct pw_cluster *c, struct pw_yaml *y, struct pw_diags *d);

/* The objects a cluster held at some point, to take back those decoded
 * since (c->load_errors is the caller's to restore). */
struct pw_dec_mark {
	size_t nss, pods, pols, nodes, svcs;
};
struct pw_dec_mark pw_dec_mark(const struct pw_cluster *c);
void pw_dec_rollback(struct pw_cluster *c, const struct pw_dec_mark *m);

/* ---- for decode*.c ---------------------------------------------- */

struct pw_dec {
	struct pw_cluster *c;
	struct pw_diags *d;
	struct pw_yaml *y;
	size_t doc;
	struct pw_path path;
	size_t errors; /* in the current object */
	size_t doc_errors; /* in the current document */
	bool exhausted; /* the document's visit budget ran out */
	bool oom;
};

/* Errors of one document after which its decoding stops: aliases could
 * otherwise turn one bad node into millions of records. */
#define PW_DEC_MAX_ERRORS 1000

/* Handles the value of one field (never a null value: null is absent).
 * obj is what the table's owner fills. */
typedef void (*pw_field_fn)(struct pw_dec *x, const struct pw_ynode *v,
			    void *obj);

struct pw_field {
	const char *name;
	pw_field_fn fn; /* NULL: accepted, not modelled */
};

/* An item of a sequence decoded into item (zeroed, elem bytes). */
typedef void (*pw_item_fn)(struct pw_dec *x, const struct pw_ynode *n,
			   void *item, void *ctx);

/* Whether decoding should go on (budget left, memory left). */
static inline bool pw_dec_ok(const struct pw_dec *x)
{
	return !x->exhausted && !x->oom && x->doc_errors < PW_DEC_MAX_ERRORS;
}

/* Records an error at n's position (or pos when n is NULL) under the
 * current path. */
void pw_dec_err(struct pw_dec *x, const struct pw_ynode *n, const char *fmt,
		...) PW_PRINTF(3, 4);
void pw_dec_err_at(struct pw_dec *x, const struct pw_pos *pos, const char *fmt,
		   ...) PW_PRINTF(3, 4);
/* Charges one node visit; false (and an error, once) when spent. */
bool pw_dec_visit(struct pw_dec *x, const struct pw_ynode *n);

/* Walks a mapping through a field table; a null n is an empty mapping. */
void pw_dec_map(struct pw_dec *x, const struct pw_ynode *n,
		const struct pw_field *f, size_t nf, void *obj);
#define PW_DEC_MAP(x, n, table, obj) \
	pw_dec_map(x, n, table, PW_ARRAY_SIZE(table), obj)
/* Decodes a sequence into a new array of elements of elem bytes; *count
 * items (0 and NULL for null or an error). A NULL fn only checks that n
 * is a sequence. */
void *pw_dec_array(struct pw_dec *x, const struct pw_ynode *n, size_t elem,
		   size_t *count, pw_item_fn fn, void *ctx);

/* Scalars. Each records a type error and returns false on a mismatch.
 * A null n reads as the zero value ("", 0, false). */
bool pw_dec_str(struct pw_dec *x, const struct pw_ynode *n, char **out);
bool pw_dec_int32(struct pw_dec *x, const struct pw_ynode *n, int64_t *out);
bool pw_dec_bool(struct pw_dec *x, const struct pw_ynode *n, bool *out);
/* An IntOrString: *name set (allocated) for a string, else *num. */
bool pw_dec_int_or_str(struct pw_dec *x, const struct pw_ynode *n, int64_t *num,
		       char **name);
/* A protocol as the API spells it ("TCP", ...); NULL n means TCP. */
bool pw_dec_proto(struct pw_dec *x, const struct pw_ynode *n,
		  enum pw_proto *out);
/* An IP address or CIDR written as a string, parsed. */
bool pw_dec_addr(struct pw_dec *x, const struct pw_ynode *n,
		 struct pw_addr *out);
bool pw_dec_cidr(struct pw_dec *x, const struct pw_ynode *n,
		 struct pw_cidr *out);
/* A map of string to string (labels, a selector's matchLabels). */
void pw_dec_labels(struct pw_dec *x, const struct pw_ynode *n,
		   struct pw_labels *out);

/* ObjectMeta, as far as podwall reads it. */
struct pw_meta {
	char *name;
	char *ns;
	struct pw_labels labels;
	struct pw_labels annotations;
	struct pw_owner owner; /* the ownerReferences entry with controller */
	struct pw_pos pos; /* of metadata */
	struct pw_pos name_pos;
	struct pw_pos ns_pos;
};
void pw_dec_meta(struct pw_dec *x, const struct pw_ynode *n, struct pw_meta *m);
void pw_meta_clear(struct pw_meta *m);
/* Requires a name (else an error at obj) and defaults the namespace to
 * "default" when namespaced. false on an error or ENOMEM. */
bool pw_meta_finish(struct pw_dec *x, const struct pw_ynode *obj,
		    struct pw_meta *m, bool namespaced);

/* A kind the decoder knows: decode() reads the object at root and adds
 * it to x->c when it decoded without errors. */
struct pw_kind_ops {
	const char *api_version;
	const char *kind;
	void (*decode)(struct pw_dec *x, const struct pw_kind_ops *k,
		       const struct pw_ynode *root);
};

void pw_decode_namespace(struct pw_dec *x, const struct pw_kind_ops *k,
			 const struct pw_ynode *root);
void pw_decode_pod(struct pw_dec *x, const struct pw_kind_ops *k,
		   const struct pw_ynode *root);
void pw_decode_workload(struct pw_dec *x, const struct pw_kind_ops *k,
			const struct pw_ynode *root);
void pw_decode_node(struct pw_dec *x, const struct pw_kind_ops *k,
		    const struct pw_ynode *root);
void pw_decode_service(struct pw_dec *x, const struct pw_kind_ops *k,
		       const struct pw_ynode *root);
void pw_decode_policy(struct pw_dec *x, const struct pw_kind_ops *k,
		      const struct pw_ynode *root);

#endif
