// SPDX-License-Identifier: Apache-2.0
/*
 * Process helpers of the lab: running ip(8) with an argument vector (never
 * a shell), entering network namespaces, writing sysctls of the current
 * namespace, and the stop flag the signal handler sets.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lab.h"

#define IP_MAX_ARGS 32

volatile sig_atomic_t lab_stop;

static void on_signal(int sig)
{
	(void)sig;
	lab_stop = 1;
}

void lab_signals_install(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a blocking wait returns EINTR and the caller sees
	 * lab_stop at once. */
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	/* A probe writing to a pipe whose reader is gone must fail, not kill. */
	signal(SIGPIPE, SIG_IGN);
}

void lab_proc_name(const char *id, const char *what)
{
	char name[16];

	snprintf(name, sizeof(name), "%s-%s", id, what);
	prctl(PR_SET_NAME, name, 0, 0, 0);
}

/* The child side of lab_ip: stdout to /dev/null, stderr to the pipe, and
 * the default signal dispositions back, then ip. */
static void ip_child(char **argv, int errfd)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
	}
	dup2(errfd, STDERR_FILENO);
	execvp("ip", argv);
	fprintf(stderr, "cannot run ip: %s (install iproute2)\n",
		strerror(errno));
	_exit(127);
}

static void ip_failed(char **argv, const char *said)
{
	fputs("podwall lab: ip", stderr);
	for (size_t i = 1; argv[i]; i++)
		fprintf(stderr, " %s", argv[i]);
	fprintf(stderr, ": %s", said[0] ? said : "failed\n");
}

static int ip_wait(pid_t pid, int errfd, char **argv)
{
	char said[512], rest[512];
	size_t got = 0;
	ssize_t n;
	int status;

	/* Keep the first lines; drain the rest so that ip never blocks on
	 * a full pipe. */
	for (;;) {
		if (got < sizeof(said) - 1)
			n = read(errfd, said + got, sizeof(said) - 1 - got);
		else
			n = read(errfd, rest, sizeof(rest));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (got < sizeof(said) - 1)
			got += (size_t)n;
	}
	said[got] = '\0';
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(status) && !WEXITSTATUS(status))
		return lab_stop ? -EINTR : 0;
	if (!lab_stop)
		ip_failed(argv, said);
	return lab_stop ? -EINTR : -EIO;
}

int lab_ip(const char *arg, ...)
{
	char *argv[IP_MAX_ARGS + 2];
	size_t n = 0;
	int pfd[2], ret;
	va_list ap;
	pid_t pid;

	if (lab_stop)
		return -EINTR;
	argv[n++] = "ip";
	va_start(ap, arg);
	for (const char *a = arg; a && n <= IP_MAX_ARGS; a = va_arg(ap, char *))
		argv[n++] = (char *)a;
	va_end(ap);
	argv[n] = NULL;
	if (pipe2(pfd, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		close(pfd[0]);
		close(pfd[1]);
		return ret;
	}
	if (!pid)
		ip_child(argv, pfd[1]);
	close(pfd[1]);
	ret = ip_wait(pid, pfd[0], argv);
	close(pfd[0]);
	return ret;
}

int lab_netns_enter(const char *name)
{
	char path[sizeof(LAB_NETNS_DIR) + LAB_NS_MAX + 1];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "%s/%s", LAB_NETNS_DIR, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (setns(fd, CLONE_NEWNET))
		ret = -errno;
	close(fd);
	return ret;
}

int lab_netns_call(const char *name, int (*fn)(void *arg), void *arg)
{
	int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	int ret;

	if (self < 0)
		return -errno;
	ret = lab_netns_enter(name);
	if (!ret) {
		ret = fn(arg);
		/* Coming back cannot fail for our own namespace; if it did,
		 * staying elsewhere would be worse than stopping. */
		if (setns(self, CLONE_NEWNET))
			_exit(2);
	}
	close(self);
	return ret;
}

int lab_sysctl(const char *path, const char *value)
{
	char full[256];
	size_t len = strlen(value);
	int fd, ret = 0;

	snprintf(full, sizeof(full), "/proc/sys/%s", path);
	fd = open(full, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, value, len) != (ssize_t)len)
		ret = -errno;
	close(fd);
	return ret;
}
