/*
 * netlink.h - the `ip` commands stages 08 and 13 run, each as one rtnetlink request
 * to the kernel, built in netlink.c. Each sends its request on sock, a
 * socket from nl_open(), and returns 0, or -1 with errno set to the kernel's
 * answer (EEXIST, EPERM ...), like the system call it stands in for. Stage
 * 14's nf_tables requests (nft.c) are built and sent with the same tools.
 */
#ifndef NETLINK_H
#define NETLINK_H

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <sys/types.h>

int nl_open(void);

/*
 * nf_tables takes changes only in a batch, which netlink.c builds, one at a
 * time: batch_begin(); then each message, batch_message() for its headers,
 * batch_put() for each attribute (it returns the attribute, for one that
 * holds others), batch_close() when what one holds is in; then
 * batch_send(), which ends the batch and sends it all at once. The kernel
 * applies it all, or none, and says why.
 */
void batch_begin(void);
void batch_message(int type, int flags, const void *family_header, size_t header_len);
struct rtattr *batch_put(int type, const void *payload, size_t len);
void batch_close(struct rtattr *nest);
int batch_send(int sock);

/* ip link add HOST_END type veth peer name PEER netns PID */
int add_veth_pair(int sock, const char *host_end, const char *peer, pid_t pid);

/* ip addr add ADDRESS/PREFIX dev INDEX */
int add_address(int sock, int ifindex, struct in_addr address, int prefix);

/* ip link set INDEX up */
int bring_up(int sock, int ifindex);

/* ip route add default via GATEWAY dev INDEX */
int add_default_route(int sock, int ifindex, struct in_addr gateway);

/* ip link del INDEX */
int delete_link(int sock, int ifindex);

/* ip link add NAME type bridge */
int add_bridge(int sock, const char *name);

/* ip link set INDEX master BRIDGE: INDEX becomes a port of BRIDGE */
int enslave(int sock, int ifindex, int bridge);

/* ip link show master BRIDGE | wc -l: how many ports BRIDGE has, or -1 */
int count_ports(int sock, int bridge);

/* ip route show table all: each IPv4 route, as far as a stage needs it, to
 * each(), until each() returns -1 (and so does for_each_route()) */
struct route {
	struct in_addr dst; /* dst/prefix: what the route covers; prefix 0: default */
	int prefix;
	int oif; /* the link it leaves by, or 0 */
	int kernel; /* the kernel's own, for an address on oif (proto kernel) */
};
int for_each_route(int sock, int (*each)(const struct route *, void *), void *arg);

/* sysctl -w net.ipv6.conf.NAME.disable_ipv6=1: not a request but a file, as
 * rtnetlink sets no such thing. A link with IPv6 off takes no router
 * advertisement, from which it would learn a route. 0 where the kernel has
 * no IPv6 at all. */
int ipv6_off(const char *name);

/* ip link set INDEX alias TEXT; and ip link show INDEX's alias, into text */
int set_alias(int sock, int ifindex, const char *text);
int get_alias(int sock, int ifindex, char *text, size_t size);

/* 1 where one of the host's FORWARD chains, ip or inet family, drops by
 * policy, as docker's and ufw's do (nft list chains); 0 where none does; -1
 * when the chains cannot be read. All the host routes passes them. */
int forwarded_traffic_dropped(void);

/* 1 where br_netfilter sends the IPv4 a bridge passes between its ports to
 * those chains too (sysctl net.bridge.bridge-nf-call-iptables = 1), and one
 * drops by policy: stage 13's question; 0 where not. */
int bridged_traffic_dropped(void);

#endif
