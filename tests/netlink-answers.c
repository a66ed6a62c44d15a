/*
 * tests/netlink-answers.c: preloaded into a stage (LD_PRELOAD), it bends the
 * first answer each process reads from a netlink socket, as tests/08 asks
 * with NETLINK_ANSWER:
 *
 *   longer  the answer is longer than the reader's buffer: the kernel fills
 *           the buffer and returns its length, or with MSG_TRUNC the whole
 *           answer's; the rest is lost.
 *   short   a message of 18 bytes comes first, the end of what was received,
 *           and past it - in the 2 bytes of padding and beyond - lies a forged
 *           EPERM for the request. A reader that goes past the end of what it
 *           received takes the forgery; the true answer comes next.
 *
 * Built with: cc -shared -fPIC -o answers.so netlink-answers.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <linux/netlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static int bent;
static char kept[8192];
static ssize_t kept_len;

static ssize_t real_recv(int sock, void *buf, size_t len, int flags)
{
	ssize_t (*next)(int, void *, size_t, int) = dlsym(RTLD_NEXT, "recv");

	return next(sock, buf, len, flags);
}

static int is_netlink(int sock)
{
	struct sockaddr_storage addr;
	socklen_t size = sizeof(addr);

	return getsockname(sock, (struct sockaddr *)&addr, &size) == 0 && addr.ss_family == AF_NETLINK;
}

static ssize_t answer_longer(int sock, char *buf, size_t len, int flags)
{
	ssize_t n = real_recv(sock, buf, len, flags & ~MSG_TRUNC);

	if (n <= 0)
		return n;
	((struct nlmsghdr *)buf)->nlmsg_len = len + 64;
	return flags & MSG_TRUNC ? (ssize_t)len + 64 : (ssize_t)len;
}

static ssize_t answer_short(int sock, char *buf, size_t len, int flags)
{
	struct nlmsghdr *first = (struct nlmsghdr *)buf, *forged = (struct nlmsghdr *)(buf + 20);
	struct nlmsgerr *err = NLMSG_DATA(forged);

	kept_len = real_recv(sock, kept, sizeof(kept), flags & ~MSG_TRUNC);
	if (kept_len < (ssize_t)NLMSG_LENGTH(sizeof(*err)) || len < 20 + NLMSG_LENGTH(sizeof(*err)))
		return kept_len < 0 ? -1 : 0;
	memset(buf, 0, 20 + NLMSG_LENGTH(sizeof(*err)));
	first->nlmsg_len = 18;
	first->nlmsg_type = NLMSG_NOOP;
	first->nlmsg_seq = ((struct nlmsghdr *)kept)->nlmsg_seq + 1;
	forged->nlmsg_len = NLMSG_LENGTH(sizeof(*err));
	forged->nlmsg_type = NLMSG_ERROR;
	forged->nlmsg_seq = ((struct nlmsghdr *)kept)->nlmsg_seq;
	err->error = -EPERM;
	return 18;
}

ssize_t recv(int sock, void *buf, size_t len, int flags)
{
	const char *how = getenv("NETLINK_ANSWER");

	if (kept_len > 0) { /* the true answer, after the short one */
		ssize_t n = kept_len < (ssize_t)len ? kept_len : (ssize_t)len;

		memcpy(buf, kept, n);
		kept_len = 0;
		return n;
	}
	if (bent || !how || !is_netlink(sock))
		return real_recv(sock, buf, len, flags);
	bent = 1;
	if (strcmp(how, "longer") == 0)
		return answer_longer(sock, buf, len, flags);
	return answer_short(sock, buf, len, flags);
}

/* What a build with _FORTIFY_SOURCE calls instead (Ubuntu's gcc, at -O2). */
ssize_t __recv_chk(int sock, void *buf, size_t len, size_t buflen, int flags)
{
	(void)buflen;
	return recv(sock, buf, len, flags);
}
