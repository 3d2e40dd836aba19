// SPDX-License-Identifier: Apache-2.0
/*
 * Decoding of NetworkPolicy (networking.k8s.io/v1), strict throughout.
 *
 * What the API validates (CIDRs, protocols, port ranges, operators,
 * policyTypes) is kept as written, with its position, for validate.c;
 * what JSON decoding itself rejects (unknown fields, wrong types) is an
 * error here. A null peer selector is an absent one, as in the API.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "labels.h"

/* ---- label selectors ---------------------------------------------- */

static void req_key(struct pw_dec *x, const struct pw_ynode *v, void *obj)
{
	struct pw_sel_req *r = obj;

	free(r->key);
	pw_dec_str(x, v, &r->key);
	r->key_pos = v->pos;
}

static void req_op(struct pw_dec *x, const struct pw_ynode *v, void *obj)
{
	struct pw_sel_req *r = obj;

	free(r->op_text);
	pw_dec_str(x, v, &r->op_text);
	r->op_pos = v->pos;
}

static void str_item(struct pw_dec *x, const struct pw_ynode *n, void *item,
		     void *ctx)
{
	pw_dec_str(x, n, item);
}

static void req_values(struct pw_dec *x, const struct pw_ynode *v, void *obj)
{
	struct pw_sel_req *r = obj;

	r->values_present = true;
	r->values = pw_dec_array(x, v, sizeof(*r->values), &r->nvalues,
				 str_item, NULL);
	if (!r->nvalues)
		return;
	r->value_pos = calloc(r->nvalues, sizeof(*r->value_pos));
	if (!r->value_pos) {
		x->oom = true;
		return;
	}
	for (size_t i = 0; i < r->nvalues; i++)
		r->value_pos[i] = v->seq.items[i]->pos;
}

static const struct pw_field req_fields[] = {
	{ "key", req_key },
	{ "operator", req_op },
	{ "values", req_values },
};

static void req_item(struct pw_dec *x, const struct pw_ynode *n, void *item,
		     void *ctx)
{
	struct pw_sel_req *r = item;

	r->pos = n->pos;
	PW_DEC_MAP(x, n, req_fields, r);
	r->op = pw_sel_op_parse(r->op_text);
}

static void sel_match_labels(struct pw_dec *x, const struct pw_ynode *v,
			     void *obj)
{
	struct pw_selector *s = obj;

	s->match_labels_pos = v->pos;
	pw_dec_labels(x, v, &s->match_labels);
}

static void sel_match_exprs(struct pw_dec *x, const struct pw_ynode *v,
			    void *obj)
{
	struct pw_selector *s = obj;

	s->reqs =
		pw_dec_array(x, v, sizeof(*s->reqs), &s->nreqs, req_item, NULL);
}

static const struct pw_field selector_fields[] = {
	{ "matchLabels", sel_match_labels },
	{ "matchExpressions", sel_match_exprs },
};

static void decode_selector(struct pw_dec *x, const struct pw_ynode *v,
			    struct pw_selector *s)
{
	s->pos = v->pos;
	PW_DEC_MAP(x, v, selector_fields, s);
}

/* ---- peers -------------------------------------------------------- */

static void ipb_cidr(struct pw_dec *x, const struct pw_ynode *v, void *obj)
{
	struct pw_ipblock *b = obj;

	free(b->cidr_text);
	pw_dec_str(x, v, &b->cidr_text);
	b->cidr_pos = v->pos;
}

static void except_item(struct pw_dec *x, const struct pw_ynode *n, void *item,
			void *ctx)
{
	struct pw_except *e = item;

	e->pos = n->pos;
	pw_dec_str(x, n, &e->text);
}

static void ipb_except(struct pw_dec *x, const struct pw_ynode *v, void *obj)
{
	struct pw_ipblock *b = obj;

	b->except = pw_dec_array(x, v, sizeof(*b->except), &b->nexcept,
				 except_item, NULL);
}

static const struct pw_field ipblock_fields[] = {
	{ "cidr", ipb_cidr },
	{ "except", ipb_except },
};

static void peer_pod_sel(struct pw_dec *x, const struct pw_ynode *v, void *obj)
{
	struct pw_peer *p = obj;

	p->has_pod_sel = true;
	decode_selector(x, v, &p->pod_sel);
}

static void peer_ns_sel(struct pw_dec *x, const struct pw_ynode *v, void *obj)
{
	struct pw_peer *p = obj;

	p->has_ns_sel = true;
	decode_selector(x, v, &p->ns_sel);
}

static void peer_ipblock(struct pw_dec *x, const struct pw_ynode *v, void *obj)
{
	struct pw_peer *p = obj;

	p->has_ipblock = true;
	p->ipblock.pos = v->pos;
	PW_DEC_MAP(x, v, ipblock_fields, &p->ipblock);
}

static const struct pw_field peer_fields[] = {
	{ "podSelector", peer_pod_sel },
	{ "namespaceSelector", peer_ns_sel },
	{ "ipBlock", peer_ipblock },
};

static void peer_item(struct pw_dec *x, const struct pw_ynode *n, void *item,
		      void *ctx)
{
	struct pw_peer *p = item;

	p->pos = n->pos;
	PW_DEC_MAP(x, n, peer_fields, p);
}

/* ---- ports -------------------------------------------------------- */

static void np_proto(struct pw_dec *x, const struct pw_ynode *v, void *obj)
{
	struct pw_np_port *p = obj;

	free(p->proto_text);
	pw_dec_str(x, v, &p->proto_text);
	p->proto_pos = v->pos;
}

/* An IntOrString: a quoted "80" is the port *name* "80". */
static void np_port(struct pw_dec *x, const struct pw_ynode *v, void *obj)
{
	struct pw_np_port *p = obj;

	free(p->name);
	p->port_pos = v->pos;
	p->has_port = pw_dec_int_or_str(x, v, &p->port, &p->name);
	p->named = p->name != NULL;
}

static void np_end_port(struct pw_dec *x, const struct pw_ynode *v, void *obj)
{
	struct pw_np_port *p = obj;

	p->end_pos = v->pos;
	p->has_end = pw_dec_int32(x, v, &p->end_port);
}

static const struct pw_field np_port_fields[] = {
	{ "protocol", np_proto },
	{ "port", np_port },
	{ "endPort", np_end_port },
};

static void np_port_item(struct pw_dec *x, const struct pw_ynode *n, void *item,
			 void *ctx)
{
	struct pw_np_port *p = item;

	p->pos = n->pos;
	PW_DEC_MAP(x, n, np_port_fields, p);
}

/* ---- rules -------------------------------------------------------- */

static void rule_peers(struct pw_dec *x, const struct pw_ynode *v, void *obj)
{
	struct pw_rule *r = obj;

	r->peers = pw_dec_array(x, v, sizeof(*r->peers), &r->npeers, peer_item,
				NULL);
}

static void rule_ports(struct pw_dec *x, const struct pw_ynode *v, void *obj)
{
	struct pw_rule *r = obj;

	r->ports = pw_dec_array(x, v, sizeof(*r->ports), &r->nports,
				np_port_item, NULL);
}

static const struct pw_field ingress_rule_fields[] = {
	{ "from", rule_peers },
	{ "ports", rule_ports },
};

static const struct pw_field egress_rule_fields[] = {
	{ "to", rule_peers },
	{ "ports", rule_ports },
};

static void ingress_item(struct pw_dec *x, const struct pw_ynode *n, void *item,
			 void *ctx)
{
	((struct pw_rule *)item)->pos = n->pos;
	PW_DEC_MAP(x, n, ingress_rule_fields, item);
}

static void egress_item(struct pw_dec *x, const struct pw_ynode *n, void *item,
			void *ctx)
{
	((struct pw_rule *)item)->pos = n->pos;
	PW_DEC_MAP(x, n, egress_rule_fields, item);
}

static void spec_rules(struct pw_dec *x, const struct pw_ynode *v,
		       struct pw_policy *p, enum pw_dir d, pw_item_fn fn)
{
	p->rules_pos[d] = v->pos;
	p->rules[d] = pw_dec_array(x, v, sizeof(*p->rules[d]), &p->nrules[d],
				   fn, NULL);
}

static void spec_ingress(struct pw_dec *x, const struct pw_ynode *v, void *obj)
{
	spec_rules(x, v, obj, PW_DIR_INGRESS, ingress_item);
}

static void spec_egress(struct pw_dec *x, const struct pw_ynode *v, void *obj)
{
	spec_rules(x, v, obj, PW_DIR_EGRESS, egress_item);
}

static void spec_pod_sel(struct pw_dec *x, const struct pw_ynode *v, void *obj)
{
	struct pw_policy *p = obj;

	p->has_pod_sel = true;
	decode_selector(x, v, &p->pod_sel);
}

static void type_item(struct pw_dec *x, const struct pw_ynode *n, void *item,
		      void *ctx)
{
	struct pw_policy_type *t = item;

	t->pos = n->pos;
	pw_dec_str(x, n, &t->text);
}

static void spec_types(struct pw_dec *x, const struct pw_ynode *v, void *obj)
{
	struct pw_policy *p = obj;

	p->types_pos = v->pos;
	p->types = pw_dec_array(x, v, sizeof(*p->types), &p->ntypes, type_item,
				NULL);
}

static const struct pw_field spec_fields[] = {
	{ "podSelector", spec_pod_sel },
	{ "policyTypes", spec_types },
	{ "ingress", spec_ingress },
	{ "egress", spec_egress },
};

/* ---- the object --------------------------------------------------- */

struct policy_doc {
	struct pw_meta meta;
	struct pw_policy pol;
};

static void policy_meta(struct pw_dec *x, const struct pw_ynode *v, void *obj)
{
	pw_dec_meta(x, v, obj);
}

static void policy_spec(struct pw_dec *x, const struct pw_ynode *v, void *obj)
{
	struct policy_doc *d = obj;

	PW_DEC_MAP(x, v, spec_fields, &d->pol);
}

static const struct pw_field policy_fields[] = {
	{ "apiVersion", NULL },	     { "kind", NULL },
	{ "metadata", policy_meta }, { "spec", policy_spec },
	{ "status", NULL },
};

void pw_decode_policy(struct pw_dec *x, const struct pw_kind_ops *k,
		      const struct pw_ynode *root)
{
	struct policy_doc d = { 0 };
	struct pw_policy *p;

	PW_DEC_MAP(x, root, policy_fields, &d);
	if (!pw_meta_finish(x, root, &d.meta, true) || x->errors ||
	    !pw_dec_ok(x))
		goto out_clear;
	p = PW_PUSH(x->c->pols, x->c->npols, x->c->cap_pols);
	if (!p) {
		x->oom = true;
		goto out_clear;
	}
	*p = d.pol;
	p->ns = d.meta.ns;
	p->name = d.meta.name;
	p->pos = root->pos;
	p->name_pos = d.meta.name_pos;
	p->ns_pos = d.meta.ns_pos;
	p->annotations = d.meta.annotations;
	memset(&d.pol, 0, sizeof(d.pol));
	d.meta.ns = d.meta.name = NULL;
	d.meta.annotations = (struct pw_labels){ 0 };
out_clear:
	pw_policy_clear(&d.pol);
	pw_meta_clear(&d.meta);
}
