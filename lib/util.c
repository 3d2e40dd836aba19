// SPDX-License-Identifier: Apache-2.0
/* Allocation, growable arrays, field paths, hashing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

int pw_grow(void **v, size_t *cap, size_t need, size_t elem)
{
	size_t ncap = *cap ? *cap : 4;
	void *nv;

	if (need <= *cap)
		return 0;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2 / elem)
			return -ENOMEM;
		ncap *= 2;
	}
	nv = realloc(*v, ncap * elem);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = ncap;
	return 0;
}

void *pw_push(void **v, size_t *n, size_t *cap, size_t elem)
{
	char *slot;

	if (pw_grow(v, cap, *n + 1, elem))
		return NULL;
	slot = (char *)*v + *n * elem;
	memset(slot, 0, elem);
	(*n)++;
	return slot;
}

char *pw_strdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

char *pw_strndup(const char *s, size_t n)
{
	return s ? strndup(s, n) : NULL;
}

void pw_path_init(struct pw_path *p)
{
	p->buf[0] = '\0';
	p->len = 0;
}

/* Appends raw text, truncating with "..." rather than overflowing. */
static void path_append(struct pw_path *p, const char *s, size_t n)
{
	size_t room = sizeof(p->buf) - 1 - p->len;

	if (n > room) {
		n = room;
		if (room >= 3) {
			memcpy(p->buf + p->len, s, room - 3);
			memcpy(p->buf + p->len + room - 3, "...", 3);
			p->len += room;
			p->buf[p->len] = '\0';
			return;
		}
	}
	memcpy(p->buf + p->len, s, n);
	p->len += n;
	p->buf[p->len] = '\0';
}

size_t pw_path_push(struct pw_path *p, const char *seg)
{
	size_t mark = p->len;

	if (p->len && seg[0] != '[')
		path_append(p, ".", 1);
	path_append(p, seg, strlen(seg));
	return mark;
}

size_t pw_path_pushf(struct pw_path *p, const char *fmt, ...)
{
	char seg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(seg, sizeof(seg), fmt, ap);
	va_end(ap);
	return pw_path_push(p, seg);
}

size_t pw_path_index(struct pw_path *p, const char *seg, size_t i)
{
	size_t mark = seg ? pw_path_push(p, seg) : p->len;

	pw_path_pushf(p, "[%zu]", i);
	return mark;
}

size_t pw_path_push_index(struct pw_path *p, size_t i)
{
	char buf[32], *e = buf + sizeof(buf) - 1;

	*e = '\0';
	*--e = ']';
	do {
		*--e = (char)('0' + i % 10);
		i /= 10;
	} while (i);
	*--e = '[';
	return pw_path_push(p, e);
}

void pw_path_pop(struct pw_path *p, size_t mark)
{
	if (mark <= p->len) {
		p->len = mark;
		p->buf[mark] = '\0';
	}
}

uint64_t pw_hash_bytes(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n--) {
		h ^= *b++;
		h *= 0x100000001b3ULL;
	}
	return h;
}
