/*
 * netlink.c - the netlink helper of stage 08 (see netlink.h for the layout).
 * Everything `ip link`, `ip addr` and `ip route` do for the stage goes
 * through these few functions, over one NETLINK_ROUTE socket.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netlink.h"

/* A socket to the kernel's routing subsystem. Close-on-exec: it belongs to
 * the network namespace it was made in, and must not leak into a command. */
int nl_open(void)
{
	return socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
}

/* The first byte past what the message holds, where the next part goes. */
static void *tail(struct nl_request *req)
{
	return (char *)&req->hdr + NLMSG_ALIGN(req->hdr.nlmsg_len);
}

/* A new request: the netlink header, then the family header (ifinfomsg,
 * ifaddrmsg, rtmsg), copied in. NLM_F_REQUEST | NLM_F_ACK always: every
 * request here wants to know whether it worked. */
void nl_start(struct nl_request *req, int type, int flags, const void *family_header,
	      size_t header_len)
{
	static unsigned int sequence;

	memset(req, 0, sizeof(*req));
	req->hdr.nlmsg_len = NLMSG_LENGTH(header_len);
	req->hdr.nlmsg_type = type;
	req->hdr.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	req->hdr.nlmsg_seq = ++sequence;
	memcpy(NLMSG_DATA(&req->hdr), family_header, header_len);
}

/* One attribute: its rtattr header, its payload, padding to 4 bytes. The
 * requests here are a few hundred bytes; room[] holds them with margin. */
void nl_put(struct nl_request *req, int type, const void *payload, size_t len)
{
	struct rtattr *attr = tail(req);

	attr->rta_type = type;
	attr->rta_len = RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(attr), payload, len);
	req->hdr.nlmsg_len = NLMSG_ALIGN(req->hdr.nlmsg_len) + RTA_ALIGN(attr->rta_len);
}

/* An attribute that holds attributes: open it, put what it holds, then
 * close it, which sets its length to cover them all. Most nests start empty;
 * a veth's peer starts with a struct ifinfomsg of its own, its header. */
struct rtattr *nl_nest_begin(struct nl_request *req, int type, const void *header, size_t len)
{
	struct rtattr *nest = tail(req);

	nl_put(req, type, header, len);
	return nest;
}

void nl_nest_end(struct nl_request *req, struct rtattr *nest)
{
	nest->rta_len = (char *)tail(req) - (char *)nest;
}

/*
 * Send the request and read the kernel's answer: 0 when it says done, else
 * -1 with errno set to what it said (EEXIST, EPERM ...), so that the caller
 * prints it like any failed system call.
 */
int nl_talk(int sock, struct nl_request *req)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK }; /* nl_pid 0: the kernel */
	union {
		struct nlmsghdr hdr;
		char bytes[4096];
	} answer;
	ssize_t n;

	if (sendto(sock, &req->hdr, req->hdr.nlmsg_len, 0, (struct sockaddr *)&kernel,
		   sizeof(kernel)) < 0)
		return -1;
	for (;;) {
		n = recv(sock, answer.bytes, sizeof(answer.bytes), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		for (struct nlmsghdr *msg = &answer.hdr; NLMSG_OK(msg, (size_t)n);
		     msg = NLMSG_NEXT(msg, n)) {
			struct nlmsgerr *err = NLMSG_DATA(msg);

			if (msg->nlmsg_seq != req->hdr.nlmsg_seq || msg->nlmsg_type != NLMSG_ERROR)
				continue; /* not the answer to this request */
			if (msg->nlmsg_len < NLMSG_LENGTH(sizeof(*err))) {
				errno = EBADMSG;
				return -1;
			}
			if (err->error == 0)
				return 0;
			errno = -err->error;
			return -1;
		}
	}
}
