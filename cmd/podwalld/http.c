// SPDX-License-Identifier: Apache-2.0
/*
 * A small HTTP/1.1 server for /metrics, /healthz and /readyz, on a
 * nonblocking socket in the agent's loop. One request per connection
 * (answers carry "Connection: close"); requests are GET or HEAD with a
 * head of at most HTTP_MAX_REQ bytes; at most HTTP_MAX_CONNS connections,
 * the oldest one is closed to make room, so a client that never finishes
 * its request cannot lock the others out.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"

#define HTTP_MAX_REQ 4096
#define HTTP_MAX_CONNS 16

struct conn {
	struct handler h;
	struct http *srv;
	int fd;
	char req[HTTP_MAX_REQ];
	size_t rlen;
	char *out; /* response, once the request is complete */
	size_t olen, off;
	bool dead; /* evicted: its event may still be in the loop's batch */
	struct conn *next;
};

struct http {
	struct handler h;
	int fd;
	struct loop *l;
	struct agent *a;
	struct conn *conns; /* newest first */
	size_t nconns;
	struct conn *dead; /* evicted, freed on the next accept */
};

/* Closes c's socket and takes it off the list of connections. */
static void conn_unlink(struct conn *c)
{
	struct conn **p = &c->srv->conns;

	while (*p != c)
		p = &(*p)->next;
	*p = c->next;
	c->srv->nconns--;
	loop_del(c->srv->l, c->fd);
	close(c->fd);
	c->fd = -1;
}

static void conn_close(struct conn *c)
{
	conn_unlink(c);
	free(c->out);
	free(c);
}

static void free_dead(struct http *s)
{
	while (s->dead) {
		struct conn *c = s->dead;

		s->dead = c->next;
		free(c->out);
		free(c);
	}
}

struct page {
	int status;
	const char *type;
	char *body; /* malloc'd */
	size_t len;
};

static char *dupstr(const char *s, size_t *len)
{
	*len = strlen(s);
	return strdup(s);
}

static void page_metrics(struct agent *a, struct page *p)
{
	p->type = "text/plain; version=0.0.4; charset=utf-8";
	p->body = metrics_render(a, &p->len);
	p->status = p->body ? 200 : 500;
}

static void page_healthz(struct agent *a, struct page *p)
{
	p->status = 200;
	p->body = dupstr("ok\n", &p->len);
}

static void page_readyz(struct agent *a, struct page *p)
{
	const char *why = "";
	bool ready = agent_ready(a, &why);
	char line[256];

	snprintf(line, sizeof(line), "%s%s\n",
		 ready ? "ok" : "not ready: ", ready ? "" : why);
	p->status = ready ? 200 : 503;
	p->body = dupstr(line, &p->len);
}

static const struct route {
	const char *path;
	void (*fn)(struct agent *a, struct page *p);
} routes[] = {
	{ "/metrics", page_metrics },
	{ "/healthz", page_healthz },
	{ "/readyz", page_readyz },
};

static const char *status_text(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 503:
		return "Service Unavailable";
	default:
		return "Internal Server Error";
	}
}

/* Finds the page for "METHOD PATH HTTP/1.x"; p->status set on errors. */
static bool route(struct http *s, char *line, struct page *p, bool *head)
{
	char *save = NULL, *method = strtok_r(line, " ", &save);
	char *path = method ? strtok_r(NULL, " ?", &save) : NULL;

	p->type = "text/plain; charset=utf-8";
	if (!method || !path) {
		p->status = 400;
		return false;
	}
	*head = !strcmp(method, "HEAD");
	if (!*head && strcmp(method, "GET")) {
		p->status = 405;
		return false;
	}
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (!strcmp(path, routes[i].path)) {
			routes[i].fn(s->a, p);
			return true;
		}
	}
	p->status = 404;
	return false;
}

static int respond(struct conn *c)
{
	struct page p = { .status = 500 };
	char *eol = strstr(c->req, "\r\n"), *hdr = NULL;
	bool head = false;
	int n;

	if (eol)
		*eol = '\0';
	if (!eol || !route(c->srv, c->req, &p, &head))
		p.body = dupstr(status_text(p.status), &p.len);
	n = asprintf(&hdr,
		     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
		     "Content-Length: %zu\r\nConnection: close\r\n\r\n",
		     p.status, status_text(p.status), p.type,
		     p.body ? p.len : 0);
	if (n < 0) {
		free(p.body);
		return -ENOMEM;
	}
	c->olen = (size_t)n + (head || !p.body ? 0 : p.len);
	c->out = malloc(c->olen);
	if (c->out) {
		memcpy(c->out, hdr, (size_t)n);
		if (c->olen > (size_t)n)
			memcpy(c->out + n, p.body, p.len);
	}
	free(hdr);
	free(p.body);
	return c->out ? 0 : -ENOMEM;
}

/* Sends what it can; true when the connection is done with. */
static bool flush_out(struct conn *c)
{
	while (c->off < c->olen) {
		ssize_t n = send(c->fd, c->out + c->off, c->olen - c->off,
				 MSG_NOSIGNAL);

		if (n < 0)
			return errno != EAGAIN && errno != EINTR;
		c->off += (size_t)n;
	}
	return true;
}

/* Reads the request head; true when the connection is done with. */
static bool read_req(struct conn *c)
{
	ssize_t n;

	for (;;) {
		if (c->rlen == sizeof(c->req) - 1)
			return true; /* too long: drop it */
		n = recv(c->fd, c->req + c->rlen, sizeof(c->req) - 1 - c->rlen,
			 0);
		if (n == 0)
			return true;
		if (n < 0)
			return errno != EAGAIN && errno != EINTR;
		c->rlen += (size_t)n;
		c->req[c->rlen] = '\0';
		if (strstr(c->req, "\r\n\r\n"))
			break;
	}
	if (respond(c))
		return true;
	if (flush_out(c))
		return true;
	loop_mod(c->srv->l, c->fd, EPOLLOUT, &c->h);
	return false;
}

static void on_conn(struct handler *h, uint32_t events)
{
	struct conn *c = container_of(h, struct conn, h);
	bool done;

	if (c->dead)
		return;
	if (c->out)
		done = flush_out(c);
	else
		done = read_req(c);
	if (done || (events & (EPOLLERR | EPOLLHUP)))
		conn_close(c);
}

/*
 * Makes room by dropping the oldest connection. It is not freed yet: an
 * event of it may be in the batch the loop is going through, so it is
 * marked dead and freed on the next accept (a later batch: its fd left
 * epoll when it was closed).
 */
static void evict_oldest(struct http *s)
{
	struct conn *c = s->conns;

	while (c && c->next)
		c = c->next;
	if (!c)
		return;
	conn_unlink(c);
	c->dead = true;
	c->next = s->dead;
	s->dead = c;
}

static void on_listen(struct handler *h, uint32_t events)
{
	struct http *s = container_of(h, struct http, h);
	struct conn *c;
	int fd;

	free_dead(s);
	while ((fd = accept4(s->fd, NULL, NULL,
			     SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		if (s->nconns >= HTTP_MAX_CONNS)
			evict_oldest(s);
		c = calloc(1, sizeof(*c));
		if (!c || loop_add(s->l, fd, EPOLLIN, &c->h)) {
			free(c);
			close(fd);
			continue;
		}
		c->h.fn = on_conn;
		c->srv = s;
		c->fd = fd;
		c->next = s->conns;
		s->conns = c;
		s->nconns++;
	}
}

/* "HOST:PORT" or "[V6]:PORT", numeric only: binding exactly the address
 * asked for, never what a resolver makes of a name. */
static struct addrinfo *parse_addr(const char *addr)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
	}, *res = NULL;
	char host[128];
	const char *colon = strrchr(addr, ':'), *h = host;
	size_t n;

	if (!colon || colon == addr)
		return NULL;
	n = (size_t)(colon - addr);
	if (n >= sizeof(host))
		return NULL;
	memcpy(host, addr, n);
	host[n] = '\0';
	if (host[0] == '[' && host[n - 1] == ']') {
		host[n - 1] = '\0';
		h = host + 1;
	}
	if (getaddrinfo(h, colon + 1, &hints, &res))
		return NULL;
	return res;
}

static int listen_on(const char *addr)
{
	struct addrinfo *ai = parse_addr(addr);
	int fd, one = 1, err;

	if (!ai)
		return -EINVAL;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		goto err_free_ai;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ai->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 16))
		goto err_close;
	freeaddrinfo(ai);
	return fd;
err_close:
	err = errno;
	close(fd);
	errno = err;
err_free_ai:
	err = -errno;
	freeaddrinfo(ai);
	return err;
}

struct http *http_new(const char *addr, struct agent *a, struct loop *l)
{
	struct http *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->fd = listen_on(addr);
	if (s->fd < 0) {
		errno = -s->fd;
		free(s);
		return NULL;
	}
	s->h.fn = on_listen;
	s->a = a;
	s->l = l;
	if (loop_add(l, s->fd, EPOLLIN, &s->h)) {
		close(s->fd);
		free(s);
		return NULL;
	}
	return s;
}

void http_free(struct http *s)
{
	if (!s)
		return;
	while (s->conns)
		conn_close(s->conns);
	free_dead(s);
	loop_del(s->l, s->fd);
	close(s->fd);
	free(s);
}
