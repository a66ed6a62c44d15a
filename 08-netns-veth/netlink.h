/*
 * netlink.h - just enough rtnetlink for stage 08: build a request, nest
 * attributes, send it, and read the kernel's answer.
 *
 * A request is one message in one buffer:
 *
 *   struct nlmsghdr   length, type (RTM_NEWLINK ...), flags, sequence
 *   family header     struct ifinfomsg, ifaddrmsg or rtmsg: which link,
 *                     address family, prefix length ...
 *   attributes        struct rtattr {length, type} + payload, each padded
 *                     to 4 bytes; an attribute may hold attributes (nesting)
 *
 * The kernel answers every request sent with NLM_F_ACK by an NLMSG_ERROR
 * message whose error is 0 (done) or a negative errno.
 */
#ifndef NETLINK_H
#define NETLINK_H

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stddef.h>

struct nl_request {
	struct nlmsghdr hdr; /* hdr.nlmsg_len: the bytes used so far */
	char room[1024];     /* the family header and attributes follow hdr */
};

int nl_open(void);
void nl_start(struct nl_request *req, int type, int flags, const void *family_header,
	      size_t header_len);
void nl_put(struct nl_request *req, int type, const void *payload, size_t len);
struct rtattr *nl_nest_begin(struct nl_request *req, int type, const void *header, size_t len);
void nl_nest_end(struct nl_request *req, struct rtattr *nest);
int nl_talk(int sock, struct nl_request *req);

#endif
