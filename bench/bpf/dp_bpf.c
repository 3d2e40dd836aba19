// SPDX-License-Identifier: Apache-2.0
/*
 * dp_bpf: loads the eBPF datapath model (bench/bpf/policy.bpf.c) for the
 * variants of bench/datapath_bpf.sh, in the current network namespace.
 *
 *   dp_bpf [options] OBJ MODE IF_CLIENT IF_SERVER CLIENT_IP SERVER_IP
 *   dp_bpf --detach IF...
 *
 * Programs are attached with clsact and cls_bpf (bpf_tc_attach), or with
 * --tcx PINDIR as tcx links pinned in PINDIR (see attach_tcx()).
 *
 * MODE says which program runs on which hook of the two pods' veths
 * (node side): see modes[] below. The maps get the bench flow (both pods
 * isolated both ways, client -> server allowed on the UDP and TCP ports)
 * and filler of the scale workload's size (options, defaults: 5436 pods,
 * 53121 rules over 13288 classes, as gen_scale's default cluster and the
 * nftables table's element count, and 1024 CIDR rules).
 *
 * The loader attaches and exits: a tc filter (or a pinned tcx link) holds
 * its program and the program its maps; filters go when the veth goes
 * (with the namespace: datapath.sh deletes them on exit), links are
 * detached then and freed with their pins. If anything fails half-way,
 * what was attached is detached before exiting with status 1. --detach
 * removes the clsact qdiscs (and so every filter) of the interfaces named.
 *
 * One line per attached hook goes to stdout and, with --info FILE, is
 * appended to FILE: mode, hook, program, id, instructions (translated),
 * JIT size and the instructions the verifier processed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/types.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "policy.h"

enum hook { H_CLIENT_IN, H_CLIENT_EG, H_SERVER_IN, H_SERVER_EG, H_COUNT };

static const char *const hook_names[H_COUNT] = {
	"client/ingress",
	"client/egress",
	"server/ingress",
	"server/egress",
};

/* The program on each hook, or NULL for none. */
struct mode {
	const char *name;
	const char *prog[H_COUNT];
};

static const struct mode modes[] = {
	/* the fixed cost of four tc hooks and a program that only passes */
	{ "pass", { "pw_pass", "pw_pass", "pw_pass", "pw_pass" } },
	/* the same, only on the two tc egress hooks (as "egress") */
	{ "pass1", { NULL, "pw_pass", NULL, "pw_pass" } },
	/* per side: kfunc conntrack lookup at both hooks */
	{ "kfunc", { "pw_from_ct", "pw_to_ct", "pw_from_ct", "pw_to_ct" } },
	/* kfunc at tc ingress, the skb's own conntrack at tc egress */
	{ "nfct", { "pw_from_ct", "pw_to_nfct", "pw_from_ct", "pw_to_nfct" } },
	/* both sides at the destination's tc egress, skb's conntrack */
	{ "egress", { NULL, "pw_both_nfct", NULL, "pw_both_nfct" } },
	/* "egress" with a verdict cache (LRU hash, policy generation) */
	{ "cache", { NULL, "pw_both_cache", NULL, "pw_both_cache" } },
	/* map lookups only, on the bench flow's two hooks (no replies) */
	{ "maps", { "pw_from", NULL, NULL, "pw_to" } },
};

struct config {
	const char *obj;
	const struct mode *mode;
	const char *ifname[2]; /* client, server */
	__u32 ifindex[2];
	__u32 addr[2]; /* network order */
	__u16 udp_port, tcp_port;
	unsigned int pods, rules, classes, cidrs;
	const char *info;
	const char *pin_dir; /* tcx instead of clsact */
};

struct loaded {
	struct bpf_object *obj;
	struct bpf_tc_hook hooks[2]; /* clsact: client, server */
	bool hook_made[2];
	int links[H_COUNT]; /* tcx */
	char pins[H_COUNT][256];
};

/* not in the uapi headers libbpf 1.1 is built with */
#define PW_TCX_INGRESS 46
#define PW_TCX_EGRESS 47

/* xorshift32: deterministic filler, the same every run */
static __u32 rnd(__u32 *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static int update(struct bpf_object *obj, const char *map, const void *key,
		  const void *val)
{
	struct bpf_map *m = bpf_object__find_map_by_name(obj, map);

	if (!m)
		return -ENOENT;
	return bpf_map__update_elem(m, key, bpf_map__key_size(m), val,
				    bpf_map__value_size(m), BPF_ANY);
}

/* 10.128.0.0/9 is left to filler; the bench addresses are skipped. */
static __u32 filler_addr(const struct config *c, __u32 *s)
{
	__u32 a;

	do
		a = htonl(0x0a800000u | (rnd(s) & 0x007fffffu));
	while (a == c->addr[0] || a == c->addr[1]);
	return a;
}

/* Classes 1 and 2 are the bench pods' (fill_bench). */
static __u32 filler_class(const struct config *c, __u32 *s)
{
	return 3 + rnd(s) % c->classes;
}

/* A local pod: its veth, its address, its classes. */
static int put_pod(struct bpf_object *obj, __u32 ifindex, __u32 addr,
		   const struct pw_pod *pod)
{
	struct pw_if_key k = { .ifindex = ifindex, .addr = addr };
	__u8 one = 1;
	int err;

	err = update(obj, "pod_by_if", &k, pod);
	if (!err)
		err = update(obj, "pod_by_addr", &addr, pod);
	if (!err)
		err = update(obj, "pod_ifs", &ifindex, &one);
	return err;
}

static int fill_pods(const struct config *c, struct bpf_object *obj, __u32 *s,
		     __u32 *addrs)
{
	unsigned int i;
	int err = 0;

	for (i = 0; i < c->pods && !err; i++) {
		struct pw_pod pod = { .egress_class = filler_class(c, s) };

		pod.ingress_class = PW_CLASS_INGRESS | filler_class(c, s);
		addrs[i] = filler_addr(c, s);
		err = put_pod(obj, 100000 + i, addrs[i], &pod);
	}
	return err;
}

static int fill_rules(const struct config *c, struct bpf_object *obj, __u32 *s,
		      const __u32 *addrs)
{
	unsigned int i;
	__u8 one = 1;
	int err = 0;

	for (i = 0; i < c->rules && !err; i++) {
		struct pw_rule_key k = {
			.class = filler_class(c, s),
			.peer = addrs[rnd(s) % c->pods],
			.proto = (rnd(s) & 1) ? IPPROTO_TCP : IPPROTO_UDP,
			.port = htons(1 + rnd(s) % 10000),
		};

		if (rnd(s) & 1)
			k.class |= PW_CLASS_INGRESS;
		err = update(obj, "rules", &k, &one);
	}
	for (i = 0; i < c->cidrs && !err; i++) {
		__u32 len = 8 + rnd(s) % 23;
		struct pw_lpm_key l = {
			.prefixlen = PW_LPM_FIXED_BITS + len,
			.class = filler_class(c, s),
			.proto = IPPROTO_TCP,
			.port = htons(443),
			.peer = htonl(0xac000000u | (rnd(s) & 0x00ffffffu)) &
				htonl(~0u << (32 - len)),
		};

		err = update(obj, "rules_lpm", &l, &one);
	}
	return err;
}

/*
 * The bench flow: client (class 1 / ingress class 1) and server (class 2
 * / ingress class 2) isolated both ways, client -> server allowed on
 * both ports by the client's egress and the server's ingress. Filler
 * classes start at 3 so that they never admit the bench flow.
 */
static int fill_bench(const struct config *c, struct bpf_object *obj)
{
	static const __u8 protos[2] = { IPPROTO_UDP, IPPROTO_TCP };
	__u16 ports[2] = { htons(c->udp_port), htons(c->tcp_port) };
	struct pw_pod pod[2] = {
		{ 1, PW_CLASS_INGRESS | 1 },
		{ 2, PW_CLASS_INGRESS | 2 },
	};
	__u8 one = 1;
	int i, err = 0;

	for (i = 0; i < 2 && !err; i++)
		err = put_pod(obj, c->ifindex[i], c->addr[i], &pod[i]);
	for (i = 0; i < 2 && !err; i++) {
		struct pw_rule_key eg = { 1, c->addr[1], protos[i], 0,
					  ports[i] };
		struct pw_rule_key in = { PW_CLASS_INGRESS | 2, c->addr[0],
					  protos[i], 0, ports[i] };

		err = update(obj, "rules", &eg, &one);
		if (!err)
			err = update(obj, "rules", &in, &one);
	}
	return err;
}

static int fill_maps(const struct config *c, struct bpf_object *obj)
{
	__u32 seed = 2463534242u;
	__u32 *addrs = calloc(c->pods ? c->pods : 1, sizeof(*addrs));
	int err;

	if (!addrs)
		return -ENOMEM;
	err = fill_pods(c, obj, &seed, addrs);
	if (!err)
		err = fill_rules(c, obj, &seed, addrs);
	if (!err)
		err = fill_bench(c, obj);
	free(addrs);
	return err;
}

static void print_info(const struct config *c, enum hook h, int fd)
{
	struct bpf_prog_info pi = { 0 };
	__u32 len = sizeof(pi);
	FILE *f = c->info ? fopen(c->info, "a") : NULL;
	char line[256];

	if (bpf_obj_get_info_by_fd(fd, &pi, &len))
		return;
	snprintf(line, sizeof(line),
		 "mode=%s attach=%s hook=%s prog=%s id=%u insns=%u jited=%u "
		 "verified=%u\n",
		 c->mode->name, c->pin_dir ? "tcx" : "clsact", hook_names[h],
		 pi.name, pi.id, pi.xlated_prog_len / 8, pi.jited_prog_len,
		 pi.verified_insns);
	fputs(line, stdout);
	if (f) {
		fputs(line, f);
		fclose(f);
	}
}

/* clsact: one qdisc per veth, one cls_bpf filter per hook. */
static int attach_clsact(const struct config *c, struct loaded *l, enum hook h,
			 int prog_fd)
{
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = 1, .priority = 1,
		    .prog_fd = prog_fd);
	struct bpf_tc_hook hook = {
		.sz = sizeof(hook),
		.ifindex = (int)c->ifindex[h / 2],
		.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS,
	};
	int err;

	if (!l->hook_made[h / 2]) {
		err = bpf_tc_hook_create(&hook);
		if (err && err != -EEXIST)
			return err;
		l->hooks[h / 2] = hook;
		l->hook_made[h / 2] = !err;
	}
	hook.attach_point = (h % 2) ? BPF_TC_EGRESS : BPF_TC_INGRESS;
	return bpf_tc_attach(&hook, &opts);
}

/*
 * tcx (Linux 6.6): a BPF link per hook, no qdisc. libbpf 1.1 has no tcx
 * API, but its bpf_link_create() passes attach types it does not know
 * through (target_fd is target_ifindex). A link lives as long as a file
 * descriptor or a pin holds it: pinned in PINDIR (a bpffs the caller
 * mounts and unmounts), and detached by the kernel when the veth goes.
 */
static int attach_tcx(const struct config *c, struct loaded *l, enum hook h,
		      int prog_fd)
{
	int fd = bpf_link_create(prog_fd, (int)c->ifindex[h / 2],
				 (h % 2) ? PW_TCX_EGRESS : PW_TCX_INGRESS,
				 NULL);

	if (fd < 0)
		return fd;
	l->links[h] = fd;
	snprintf(l->pins[h], sizeof(l->pins[h]), "%s/%s-%s-%s", c->pin_dir,
		 c->mode->name, c->ifname[h / 2], (h % 2) ? "eg" : "in");
	return bpf_obj_pin(fd, l->pins[h]);
}

static int attach(const struct config *c, struct loaded *l)
{
	struct bpf_program *p;
	int h, fd, err;

	for (h = 0; h < H_COUNT; h++) {
		if (!c->mode->prog[h])
			continue;
		p = bpf_object__find_program_by_name(l->obj, c->mode->prog[h]);
		if (!p)
			return -ENOENT;
		fd = bpf_program__fd(p);
		if (c->pin_dir)
			err = attach_tcx(c, l, h, fd);
		else
			err = attach_clsact(c, l, h, fd);
		if (err)
			return err;
		print_info(c, h, fd);
	}
	return 0;
}

/* Only the programs of the mode are loaded (verified): the others stay out. */
static int open_and_load(const struct config *c, struct loaded *l)
{
	struct bpf_program *p;
	int err, h;

	l->obj = bpf_object__open_file(c->obj, NULL);
	if (!l->obj)
		return -errno;
	bpf_object__for_each_program(p, l->obj)
	{
		bool used = false;

		for (h = 0; h < H_COUNT; h++)
			if (c->mode->prog[h] &&
			    !strcmp(c->mode->prog[h], bpf_program__name(p)))
				used = true;
		bpf_program__set_autoload(p, used);
	}
	err = bpf_object__load(l->obj);
	return err ? err : fill_maps(c, l->obj);
}

/* detach (on failure): undo the attachments; else filters and pins keep them */
static void unload(struct loaded *l, bool detach)
{
	int side, h;

	for (side = 0; side < 2 && detach; side++)
		if (l->hook_made[side])
			bpf_tc_hook_destroy(&l->hooks[side]);
	for (h = 0; h < H_COUNT; h++) {
		if (detach && l->pins[h][0])
			unlink(l->pins[h]);
		if (l->links[h] >= 0)
			close(l->links[h]);
	}
	bpf_object__close(l->obj);
}

static int detach_all(char **names, int n)
{
	int i, ret = 0;

	for (i = 0; i < n; i++) {
		struct bpf_tc_hook hook = {
			.sz = sizeof(hook),
			.ifindex = (int)if_nametoindex(names[i]),
			.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS,
		};

		if (!hook.ifindex || bpf_tc_hook_destroy(&hook)) {
			fprintf(stderr, "dp_bpf: detaching %s failed\n",
				names[i]);
			ret = 1;
		}
	}
	return ret;
}

static const struct mode *find_mode(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (!strcmp(modes[i].name, name))
			return &modes[i];
	return NULL;
}

static int parse_args(int argc, char **argv, struct config *c)
{
	static const struct option opts[] = {
		{ "pods", required_argument, NULL, 'p' },
		{ "rules", required_argument, NULL, 'r' },
		{ "classes", required_argument, NULL, 'c' },
		{ "cidrs", required_argument, NULL, 'b' },
		{ "udp-port", required_argument, NULL, 'u' },
		{ "tcp-port", required_argument, NULL, 't' },
		{ "info", required_argument, NULL, 'i' },
		{ "tcx", required_argument, NULL, 'x' },
		{ NULL, 0, NULL, 0 },
	};
	int o, i;

	*c = (struct config){ .pods = 5436,
			      .rules = 53121,
			      .classes = 13288,
			      .cidrs = 1024,
			      .udp_port = 9000,
			      .tcp_port = 9001 };
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'p':
			c->pods = (unsigned int)atoi(optarg);
			break;
		case 'r':
			c->rules = (unsigned int)atoi(optarg);
			break;
		case 'c':
			c->classes = (unsigned int)atoi(optarg);
			break;
		case 'b':
			c->cidrs = (unsigned int)atoi(optarg);
			break;
		case 'u':
			c->udp_port = (__u16)atoi(optarg);
			break;
		case 't':
			c->tcp_port = (__u16)atoi(optarg);
			break;
		case 'i':
			c->info = optarg;
			break;
		case 'x':
			c->pin_dir = optarg;
			break;
		default:
			return -EINVAL;
		}
	}
	if (argc - optind != 6 || !c->pods || !c->classes)
		return -EINVAL;
	c->obj = argv[optind];
	c->mode = find_mode(argv[optind + 1]);
	for (i = 0; i < 2; i++) {
		c->ifname[i] = argv[optind + 2 + i];
		c->ifindex[i] = if_nametoindex(c->ifname[i]);
		if (!c->ifindex[i] ||
		    inet_pton(AF_INET, argv[optind + 4 + i], &c->addr[i]) != 1)
			return -EINVAL;
	}
	return c->mode ? 0 : -EINVAL;
}

int main(int argc, char **argv)
{
	struct loaded l = { 0 };
	struct config c;
	int err, h;

	for (h = 0; h < H_COUNT; h++)
		l.links[h] = -1;
	if (argc > 1 && !strcmp(argv[1], "--detach"))
		return detach_all(argv + 2, argc - 2);
	if (parse_args(argc, argv, &c)) {
		fprintf(stderr,
			"usage: dp_bpf [--pods N] [--rules N] "
			"[--classes N] [--cidrs N] [--udp-port P] [--tcp-port P] "
			"[--info FILE] [--tcx PINDIR] OBJ pass|pass1|kfunc|nfct|egress|cache|maps "
			"IF_CLIENT IF_SERVER CLIENT_IP SERVER_IP\n"
			"       dp_bpf --detach IF...\n");
		return 2;
	}
	err = open_and_load(&c, &l);
	if (!err)
		err = attach(&c, &l);
	if (err)
		fprintf(stderr, "dp_bpf: %s: %s\n", c.mode->name,
			strerror(-err));
	/* on success the filters keep programs and maps: no detach */
	unload(&l, err != 0);
	return err ? 1 : 0;
}
