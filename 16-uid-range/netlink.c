/*
 * netlink.c - the requests of netlink.h. A request is one message in one
 * buffer, in the order the kernel reads it:
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
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netlink.h"

struct nl_request {
	union {
		struct nlmsghdr hdr; /* hdr.nlmsg_len: the bytes used so far */
		char bytes[1024]; /* the family header and attributes follow hdr */
	};
	int too_long; /* an attribute did not fit: the request is not sent */
};

/* A socket to the kernel's routing subsystem. Close-on-exec: it belongs to
 * the network namespace it was made in, and must not leak into a command. */
int nl_open(void)
{
	return socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
}

/* A new request: the netlink header, then the family header, copied in.
 * NLM_F_REQUEST | NLM_F_ACK always: every request here wants to know
 * whether it worked. */
static void nl_start(struct nl_request *req, int type, int flags, const void *family_header,
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

/* One attribute at the end of the request: its rtattr header, its payload,
 * padding to 4 bytes. Like iproute2's addattr_l(), it refuses one that would
 * run past the buffer, and nl_talk() then refuses the request (EMSGSIZE). */
static struct rtattr *nl_put(struct nl_request *req, int type, const void *payload, size_t len)
{
	size_t used = NLMSG_ALIGN(req->hdr.nlmsg_len);
	struct rtattr *attr = (struct rtattr *)(req->bytes + used);

	if (req->too_long || used + RTA_SPACE(len) > sizeof(req->bytes)) {
		req->too_long = 1;
		return NULL;
	}
	attr->rta_type = type;
	attr->rta_len = RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(attr), payload, len);
	req->hdr.nlmsg_len = used + RTA_ALIGN(attr->rta_len);
	return attr;
}

/* An attribute that holds attributes: nl_put() opens it, with what starts it
 * (a veth's peer starts with an ifinfomsg of its own), and nl_end() closes
 * it when what it holds is in, setting its length to cover them all. */
static void nl_end(struct nl_request *req, struct rtattr *nest)
{
	if (nest)
		nest->rta_len = req->bytes + req->hdr.nlmsg_len - (char *)nest;
}

/*
 * Send the messages - one request, or a batch of nf_tables' (below) - and
 * read the kernel's answer to sequence number seq: 0 when it says done, else
 * -1 with errno set to what it said, so that the caller prints it like any
 * failed system call. A dump (NLM_F_DUMP) is answered by many messages, each
 * handed to each(), then NLMSG_DONE. each() may stop it with -1 (and errno):
 * the rest is still read to the end, or the kernel, mid-dump on this socket,
 * would refuse the next request with EBUSY.
 */
static int nl_send(int sock, const void *messages, size_t len, __u32 seq,
		   int (*each)(struct nlmsghdr *, void *), void *arg)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK }; /* nl_pid 0: the kernel */
	union {
		struct nlmsghdr hdr;
		char bytes[32768]; /* a dump's part is at most this, or our buffer's size */
	} answer;
	ssize_t n;
	int stopped = 0; /* each()'s errno, once it said stop */

	if (sendto(sock, messages, len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -1;
	for (;;) {
		/* MSG_TRUNC: the answer's whole length, even past our buffer. */
		n = recv(sock, answer.bytes, sizeof(answer.bytes), MSG_TRUNC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n > (ssize_t)sizeof(answer.bytes)) {
			errno = EMSGSIZE;
			return -1;
		}
		/* n stays signed: NLMSG_NEXT() takes a padded length off it, and a
		 * last message cut short must leave it below zero, not wrap. */
		for (struct nlmsghdr *msg = &answer.hdr; NLMSG_OK(msg, n);
		     msg = NLMSG_NEXT(msg, n)) {
			struct nlmsgerr *err = NLMSG_DATA(msg);

			if (msg->nlmsg_seq != seq)
				continue; /* not the answer to this request */
			if (msg->nlmsg_type != NLMSG_ERROR && msg->nlmsg_type != NLMSG_DONE) {
				if (each && !stopped && each(msg, arg) < 0)
					stopped = errno ? errno : EIO;
				continue;
			}
			/* NLMSG_DONE carries the dump's error, an int, where an
			 * NLMSG_ERROR's struct nlmsgerr starts with its own. */
			if (msg->nlmsg_len < NLMSG_LENGTH(sizeof(err->error))) {
				errno = EBADMSG;
				return -1;
			}
			if (err->error == 0 && stopped)
				errno = stopped;
			if (err->error == 0)
				return stopped ? -1 : 0;
			errno = -err->error;
			return -1;
		}
	}
}

static int nl_exchange(int sock, struct nl_request *req, int (*each)(struct nlmsghdr *, void *),
		       void *arg)
{
	if (req->too_long) {
		errno = EMSGSIZE;
		return -1;
	}
	return nl_send(sock, req->bytes, req->hdr.nlmsg_len, req->hdr.nlmsg_seq, each, arg);
}

static int nl_talk(int sock, struct nl_request *req)
{
	return nl_exchange(sock, req, NULL, NULL);
}

/* The batch being built (netlink.h): the messages so far, one after
 * another, all of one sequence number; and the one being written. */
static struct batch {
	_Alignas(struct nlmsghdr) char bytes[32768];
	size_t len, last; /* the bytes used; where the last message starts */
	__u32 seq;
	int too_long; /* a message did not fit */
	struct nl_request message; /* hdr.nlmsg_len 0: none */
} batch;

/* The message being written goes in after the others. */
static void batch_add(void)
{
	struct nl_request *message = &batch.message;
	size_t len = NLMSG_ALIGN(message->hdr.nlmsg_len);

	if (!len)
		return;
	if (message->too_long || batch.len + len > sizeof(batch.bytes)) {
		batch.too_long = 1;
	} else {
		message->hdr.nlmsg_seq = batch.seq;
		message->hdr.nlmsg_flags &= ~NLM_F_ACK; /* batch_send() asks for one answer */
		memcpy(batch.bytes + batch.len, message->bytes, len);
		batch.last = batch.len;
		batch.len += len;
	}
	message->hdr.nlmsg_len = 0;
}

void batch_message(int type, int flags, const void *family_header, size_t header_len)
{
	batch_add();
	nl_start(&batch.message, type, flags, family_header, header_len);
}

struct rtattr *batch_put(int type, const void *payload, size_t len)
{
	return nl_put(&batch.message, type, payload, len);
}

void batch_close(struct rtattr *nest)
{
	nl_end(&batch.message, nest);
}

/* BATCH_BEGIN and BATCH_END, to nfnetlink, whose res_id says for whom */
static void batch_mark(int type)
{
	struct nfgenmsg to = { .nfgen_family = AF_UNSPEC,
			       .version = NFNETLINK_V0,
			       .res_id = htons(NFNL_SUBSYS_NFTABLES) };

	batch_message(type, 0, &to, sizeof(to));
	if (type == NFNL_MSG_BATCH_BEGIN)
		batch.seq = batch.message.hdr.nlmsg_seq; /* nl_start()'s next */
	batch_add();
}

void batch_begin(void)
{
	memset(&batch, 0, sizeof(batch));
	batch_mark(NFNL_MSG_BATCH_BEGIN);
}

/*
 * Only the last message asks for an answer (NLM_F_ACK; never BATCH_BEGIN or
 * BATCH_END, whose acks Linux 6.10 on would send first), and all share one
 * sequence number. The kernel answers once the batch is done: each failed
 * message, in order, then the ack; so the first answer is the first error,
 * or the whole batch's "done". (A batch it cannot start at all, say with no
 * nf_tables, it answers through the BATCH_BEGIN: the same number.)
 */
int batch_send(int sock)
{
	batch_add();
	((struct nlmsghdr *)(batch.bytes + batch.last))->nlmsg_flags |= NLM_F_ACK;
	batch_mark(NFNL_MSG_BATCH_END);
	if (batch.too_long) {
		errno = EMSGSIZE;
		return -1;
	}
	return nl_send(sock, batch.bytes, batch.len, batch.seq, NULL, NULL);
}

/* ip link add HOST_END type veth peer name PEER netns PID: the peer is made
 * straight in the network namespace of process PID (IFLA_NET_NS_PID). */
int add_veth_pair(int sock, const char *host_end, const char *peer, pid_t pid)
{
	struct nl_request req;
	struct ifinfomsg link = { .ifi_family = AF_UNSPEC };
	struct ifinfomsg peer_link = { .ifi_family = AF_UNSPEC };
	struct rtattr *info, *data, *peer_info;
	__u32 netns_pid = pid;

	nl_start(&req, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &link, sizeof(link));
	nl_put(&req, IFLA_IFNAME, host_end, strlen(host_end) + 1);
	info = nl_put(&req, IFLA_LINKINFO, NULL, 0);
	nl_put(&req, IFLA_INFO_KIND, "veth", sizeof("veth"));
	data = nl_put(&req, IFLA_INFO_DATA, NULL, 0);
	peer_info = nl_put(&req, VETH_INFO_PEER, &peer_link, sizeof(peer_link));
	nl_put(&req, IFLA_IFNAME, peer, strlen(peer) + 1);
	nl_put(&req, IFLA_NET_NS_PID, &netns_pid, sizeof(netns_pid));
	nl_end(&req, peer_info);
	nl_end(&req, data);
	nl_end(&req, info);
	return nl_talk(sock, &req);
}

/* ip addr add ADDRESS/PREFIX dev INDEX */
int add_address(int sock, int ifindex, struct in_addr address, int prefix)
{
	struct nl_request req;
	struct ifaddrmsg addr = { .ifa_family = AF_INET,
				  .ifa_prefixlen = prefix,
				  .ifa_index = ifindex };

	nl_start(&req, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &addr, sizeof(addr));
	nl_put(&req, IFA_LOCAL, &address, sizeof(address));
	nl_put(&req, IFA_ADDRESS, &address, sizeof(address));
	return nl_talk(sock, &req);
}

/* ip link set INDEX up: ifi_change says which flags to touch, ifi_flags to what */
int bring_up(int sock, int ifindex)
{
	struct nl_request req;
	struct ifinfomsg link = {
		.ifi_family = AF_UNSPEC,
		.ifi_index = ifindex,
		.ifi_flags = IFF_UP,
		.ifi_change = IFF_UP,
	};

	nl_start(&req, RTM_NEWLINK, 0, &link, sizeof(link));
	return nl_talk(sock, &req);
}

/* ip route add default via GATEWAY dev INDEX */
int add_default_route(int sock, int ifindex, struct in_addr gateway)
{
	struct nl_request req;
	struct rtmsg route = {
		.rtm_family = AF_INET,
		.rtm_dst_len = 0, /* default: 0.0.0.0/0 */
		.rtm_table = RT_TABLE_MAIN,
		.rtm_protocol = RTPROT_BOOT,
		.rtm_scope = RT_SCOPE_UNIVERSE,
		.rtm_type = RTN_UNICAST,
	};
	__u32 oif = ifindex;

	nl_start(&req, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &route, sizeof(route));
	nl_put(&req, RTA_GATEWAY, &gateway, sizeof(gateway));
	nl_put(&req, RTA_OIF, &oif, sizeof(oif));
	return nl_talk(sock, &req);
}

/* ip link del INDEX: one end of a veth pair takes the other with it */
int delete_link(int sock, int ifindex)
{
	struct nl_request req;
	struct ifinfomsg link = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex };

	nl_start(&req, RTM_DELLINK, 0, &link, sizeof(link));
	return nl_talk(sock, &req);
}

/* ip link add NAME address MAC type bridge: a MAC of its own, random and
 * locally administered, as docker gives docker0. Without one, a bridge takes
 * the lowest of its ports' MACs, and the gateway's MAC would change under
 * the containers' ARP caches as they come and go. */
int add_bridge(int sock, const char *name)
{
	struct nl_request req;
	struct ifinfomsg link = { .ifi_family = AF_UNSPEC };
	struct rtattr *info;
	unsigned char mac[ETH_ALEN];

	if (getrandom(mac, sizeof(mac), 0) != sizeof(mac))
		return -1;
	mac[0] = (mac[0] & 0xfe) | 0x02; /* unicast, locally administered */
	nl_start(&req, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &link, sizeof(link));
	nl_put(&req, IFLA_IFNAME, name, strlen(name) + 1);
	nl_put(&req, IFLA_ADDRESS, mac, sizeof(mac));
	info = nl_put(&req, IFLA_LINKINFO, NULL, 0);
	nl_put(&req, IFLA_INFO_KIND, "bridge", sizeof("bridge"));
	nl_end(&req, info);
	return nl_talk(sock, &req);
}

/* ip link set INDEX master BRIDGE */
int enslave(int sock, int ifindex, int bridge)
{
	struct nl_request req;
	struct ifinfomsg link = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex };
	__u32 master = bridge;

	nl_start(&req, RTM_NEWLINK, 0, &link, sizeof(link));
	nl_put(&req, IFLA_MASTER, &master, sizeof(master));
	return nl_talk(sock, &req);
}

/* ip link set INDEX alias TEXT: a note on the link, for whoever reads it next */
int set_alias(int sock, int ifindex, const char *text)
{
	struct nl_request req;
	struct ifinfomsg link = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex };

	nl_start(&req, RTM_NEWLINK, 0, &link, sizeof(link));
	nl_put(&req, IFLA_IFALIAS, text, strlen(text) + 1);
	return nl_talk(sock, &req);
}

/* An attribute of a link or route message, or NULL: its payload, if it
 * holds at least size bytes. */
static struct rtattr *find_attribute(struct rtattr *attr, int len, int type, size_t size)
{
	/* NLA_TYPE_MASK: without the flags nf_tables sets on a nest */
	for (; RTA_OK(attr, len); attr = RTA_NEXT(attr, len))
		if ((attr->rta_type & NLA_TYPE_MASK) == type && RTA_PAYLOAD(attr) >= size)
			return attr;
	return NULL;
}

static const void *attribute(struct rtattr *attr, int len, int type, size_t size)
{
	attr = find_attribute(attr, len, type, size);
	return attr ? RTA_DATA(attr) : NULL;
}

struct alias {
	char *text;
	size_t size;
};

static int copy_alias(struct nlmsghdr *msg, void *arg)
{
	struct alias *alias = arg;
	struct ifinfomsg *link = NLMSG_DATA(msg);
	struct rtattr *text;

	if (msg->nlmsg_type != RTM_NEWLINK || msg->nlmsg_len < NLMSG_LENGTH(sizeof(*link)))
		return 0;
	text = find_attribute(IFLA_RTA(link), IFLA_PAYLOAD(msg), IFLA_IFALIAS, 0);
	if (text)
		snprintf(alias->text, alias->size, "%.*s", (int)RTA_PAYLOAD(text),
			 (const char *)RTA_DATA(text));
	return 0;
}

/* ip link show INDEX: its alias, "" if it has none */
int get_alias(int sock, int ifindex, char *text, size_t size)
{
	struct nl_request req;
	struct ifinfomsg link = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex };
	struct alias alias = { text, size };

	text[0] = '\0';
	nl_start(&req, RTM_GETLINK, 0, &link, sizeof(link));
	return nl_exchange(sock, &req, copy_alias, &alias);
}

struct ports {
	__u32 bridge;
	int count;
};

static int count_port(struct nlmsghdr *msg, void *arg)
{
	struct ports *ports = arg;
	struct ifinfomsg *link = NLMSG_DATA(msg);
	const __u32 *master;

	if (msg->nlmsg_type != RTM_NEWLINK || msg->nlmsg_len < NLMSG_LENGTH(sizeof(*link)))
		return 0;
	master = attribute(IFLA_RTA(link), IFLA_PAYLOAD(msg), IFLA_MASTER, sizeof(*master));
	ports->count += master && *master == ports->bridge;
	return 0;
}

/* ip link show master BRIDGE | wc -l: every link dumped, those whose
 * master is BRIDGE counted. */
int count_ports(int sock, int bridge)
{
	struct nl_request req;
	struct ifinfomsg link = { .ifi_family = AF_UNSPEC };
	struct ports ports = { .bridge = bridge };

	nl_start(&req, RTM_GETLINK, NLM_F_DUMP, &link, sizeof(link));
	return nl_exchange(sock, &req, count_port, &ports) < 0 ? -1 : ports.count;
}

struct route_walk {
	int (*each)(const struct route *, void *);
	void *arg;
};

static int walk_route(struct nlmsghdr *msg, void *arg)
{
	struct route_walk *walk = arg;
	struct rtmsg *rt = NLMSG_DATA(msg);
	struct route route = { .prefix = -1 };
	const __u32 *oif;
	const struct in_addr *dst;

	if (msg->nlmsg_type != RTM_NEWROUTE || msg->nlmsg_len < NLMSG_LENGTH(sizeof(*rt)) ||
	    rt->rtm_family != AF_INET)
		return 0;
	dst = attribute(RTM_RTA(rt), RTM_PAYLOAD(msg), RTA_DST, sizeof(*dst));
	oif = attribute(RTM_RTA(rt), RTM_PAYLOAD(msg), RTA_OIF, sizeof(*oif));
	route.prefix = rt->rtm_dst_len;
	route.dst.s_addr = dst ? dst->s_addr : 0;
	route.oif = oif ? (int)*oif : 0;
	route.kernel = rt->rtm_protocol == RTPROT_KERNEL && rt->rtm_table == RT_TABLE_MAIN;
	return walk->each(&route, walk->arg);
}

/* ip route show table all: each IPv4 route, of every table, to each() */
int for_each_route(int sock, int (*each)(const struct route *, void *), void *arg)
{
	struct nl_request req;
	struct rtmsg route = { .rtm_family = AF_INET };
	struct route_walk walk = { each, arg };

	nl_start(&req, RTM_GETROUTE, NLM_F_DUMP, &route, sizeof(route));
	return nl_exchange(sock, &req, walk_route, &walk);
}

int ipv6_off(const char *name)
{
	char path[96];
	int fd;
	ssize_t n;

	if (access("/proc/sys/net/ipv6", F_OK) < 0)
		return errno == ENOENT ? 0 : -1;
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = write(fd, "1", 1);
	if (close(fd) < 0 || n < 0)
		return -1;
	return 0;
}

static int bridge_nf_call_iptables(void)
{
	char on = '0';
	int fd = open("/proc/sys/net/bridge/bridge-nf-call-iptables", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? 0 : -1; /* no br_netfilter */
	if (read(fd, &on, 1) < 0) {
		close(fd);
		return -1;
	}
	return close(fd) < 0 ? -1 : on == '1';
}

/* nft list chains, one answer: does it drop by policy on the forward hook,
 * of the ip or inet family, which all that the host routes for the
 * containers passes? (So does what the bridge passes between them, where
 * br_netfilter hands it over.) */
static int chain_drops(struct nlmsghdr *msg, void *arg)
{
	int *found = arg;
	struct nfgenmsg *family = NLMSG_DATA(msg);
	struct rtattr *attrs = (struct rtattr *)((char *)family + NLMSG_ALIGN(sizeof(*family)));
	int len = (int)msg->nlmsg_len - NLMSG_LENGTH(NLMSG_ALIGN(sizeof(*family)));
	struct rtattr *hook;
	const __be32 *hooknum, *policy;

	if (NFNL_MSG_TYPE(msg->nlmsg_type) != NFT_MSG_NEWCHAIN || len < 0 ||
	    (family->nfgen_family != NFPROTO_IPV4 && family->nfgen_family != NFPROTO_INET))
		return 0;
	hook = find_attribute(attrs, len, NFTA_CHAIN_HOOK, 0);
	policy = attribute(attrs, len, NFTA_CHAIN_POLICY, sizeof(*policy));
	if (!hook || !policy || ntohl(*policy) != NF_DROP)
		return 0;
	hooknum = attribute(RTA_DATA(hook), RTA_PAYLOAD(hook), NFTA_HOOK_HOOKNUM, sizeof(*hooknum));
	*found |= hooknum && ntohl(*hooknum) == NF_INET_FORWARD;
	return 0;
}

int forwarded_traffic_dropped(void)
{
	struct nl_request req;
	struct nfgenmsg family = { .nfgen_family = NFPROTO_UNSPEC, .version = NFNETLINK_V0 };
	int sock, dumped, found = 0;

	/* A kernel with modules, but no nf_tables loaded, has no chain: asking
	 * would load it. One without modules has it built in, or not at all. */
	if (access("/sys/module/nf_tables", F_OK) < 0 && access("/proc/modules", F_OK) == 0)
		return 0;
	sock = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	if (sock < 0)
		return errno == EPROTONOSUPPORT ? 0 : -1;
	nl_start(&req, NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_GETCHAIN, NLM_F_DUMP, &family,
		 sizeof(family));
	dumped = nl_exchange(sock, &req, chain_drops, &found);
	if (close(sock) < 0 || dumped < 0)
		return -1;
	return found;
}

int bridged_traffic_dropped(void)
{
	/* else no FORWARD chain sees what the bridge passes on */
	return bridge_nf_call_iptables() == 1 ? forwarded_traffic_dropped() : 0;
}
