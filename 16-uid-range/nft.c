/*
 * nft.c - the table of nft.h, as the messages the `nft` command sends.
 *
 * One batch (netlink.h) makes the table, its chains and its rules, all or
 * none. Each message is a netlink header, a struct nfgenmsg (the family,
 * NFPROTO_IPV4 for `nft ... ip ...`) and attributes, built with netlink.c's
 * tools. A rule is a list of expressions, a small program over registers:
 * load a field of the packet, or of its route, into register 1; compare it
 * (a mismatch ends the rule); and at the end act on the packet (masq, nat).
 * Numbers in nf_tables' attributes are big-endian; a compare is bytewise.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter_ipv4.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "netlink.h"
#include "nft.h"

static long port_number(const char *text, char **end)
{
	long n = isdigit((unsigned char)*text) ? strtol(text, end, 10) : -1;

	return n >= 1 && n <= 65535 ? n : -1;
}

int parse_port_map(const char *text, struct port_map *port)
{
	char *end;
	long host = port_number(text, &end), inside;

	if (host < 0 || *end != ':' || (inside = port_number(end + 1, &end)) < 0)
		return -1;
	port->host = (in_port_t)host;
	port->inside = (in_port_t)inside;
	if (*end == '\0' || strcmp(end, "/tcp") == 0)
		port->protocol = IPPROTO_TCP;
	else if (strcmp(end, "/udp") == 0)
		port->protocol = IPPROTO_UDP;
	else
		return -1;
	return 0;
}

int nft_open(void)
{
	return socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
}

static void nft_start(int type, int flags)
{
	struct nfgenmsg family = { .nfgen_family = NFPROTO_IPV4, .version = NFNETLINK_V0 };

	batch_message(NFNL_SUBSYS_NFTABLES << 8 | type, NLM_F_CREATE | flags, &family,
		      sizeof(family));
}

static void put_u32(int type, __u32 value)
{
	__be32 big_endian = htonl(value);

	batch_put(type, &big_endian, sizeof(big_endian));
}

/* A value to compare with, or load: { NFTA_DATA_VALUE: the bytes } */
static void put_data(int type, const void *value, size_t len)
{
	struct rtattr *data = batch_put(type | NLA_F_NESTED, NULL, 0);

	batch_put(NFTA_DATA_VALUE, value, len);
	batch_close(data);
}

/* One expression: { NFTA_EXPR_NAME: "cmp", NFTA_EXPR_DATA: { its own } } */
struct expr {
	struct rtattr *elem, *data;
};

static struct expr expr_start(const char *name)
{
	struct expr expr;

	expr.elem = batch_put(NFTA_LIST_ELEM | NLA_F_NESTED, NULL, 0);
	batch_put(NFTA_EXPR_NAME, name, strlen(name) + 1);
	expr.data = batch_put(NFTA_EXPR_DATA | NLA_F_NESTED, NULL, 0);
	return expr;
}

static void expr_end(struct expr expr)
{
	batch_close(expr.data);
	batch_close(expr.elem);
}

/* meta KEY: the packet's iifname, oifname, l4proto ... into register 1 */
static void load_meta(int key)
{
	struct expr expr = expr_start("meta");

	put_u32(NFTA_META_DREG, NFT_REG_1);
	put_u32(NFTA_META_KEY, key);
	expr_end(expr);
}

/* LEN bytes at OFFSET of the IP header (NFT_PAYLOAD_NETWORK_HEADER) or of
 * the TCP or UDP one (NFT_PAYLOAD_TRANSPORT_HEADER), into register 1 */
static void load_payload(int base, int offset, int len)
{
	struct expr expr = expr_start("payload");

	put_u32(NFTA_PAYLOAD_DREG, NFT_REG_1);
	put_u32(NFTA_PAYLOAD_BASE, base);
	put_u32(NFTA_PAYLOAD_OFFSET, offset);
	put_u32(NFTA_PAYLOAD_LEN, len);
	expr_end(expr);
}

/* fib daddr type: the route's type for the destination, into register 1;
 * RTN_LOCAL (in the host's byte order) if it is one of the host's own */
static void load_address_type(void)
{
	struct expr expr = expr_start("fib");

	put_u32(NFTA_FIB_DREG, NFT_REG_1);
	put_u32(NFTA_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE);
	put_u32(NFTA_FIB_FLAGS, NFTA_FIB_F_DADDR);
	expr_end(expr);
}

/* cmp: register 1 OP VALUE (NFT_CMP_EQ, NFT_CMP_NEQ), or the rule ends */
static void compare(int op, const void *value, size_t len)
{
	struct expr expr = expr_start("cmp");

	put_u32(NFTA_CMP_SREG, NFT_REG_1);
	put_u32(NFTA_CMP_OP, op);
	put_data(NFTA_CMP_DATA, value, len);
	expr_end(expr);
}

static void compare_ifname(int key, int op, const char *name)
{
	char padded[IFNAMSIZ] = { 0 }; /* the kernel compares all 16 bytes */

	strncpy(padded, name, sizeof(padded) - 1);
	load_meta(key);
	compare(op, padded, sizeof(padded));
}

/* nft add table ip NAME { flags owner; } */
static void add_table(const char *name)
{

	nft_start(NFT_MSG_NEWTABLE, NLM_F_EXCL);
	batch_put(NFTA_TABLE_NAME, name, strlen(name) + 1);
	put_u32(NFTA_TABLE_FLAGS, NFT_TABLE_F_OWNER);
}

/* nft add chain ip TABLE NAME { type nat hook HOOK priority PRIORITY; } */
static void add_chain(const char *table, const char *name, int hook, int priority)
{
	struct rtattr *nest;

	nft_start(NFT_MSG_NEWCHAIN, NLM_F_EXCL);
	batch_put(NFTA_CHAIN_TABLE, table, strlen(table) + 1);
	batch_put(NFTA_CHAIN_NAME, name, strlen(name) + 1);
	nest = batch_put(NFTA_CHAIN_HOOK | NLA_F_NESTED, NULL, 0);
	put_u32(NFTA_HOOK_HOOKNUM, hook);
	put_u32(NFTA_HOOK_PRIORITY, (__u32)priority);
	batch_close(nest);
	batch_put(NFTA_CHAIN_TYPE, "nat", sizeof("nat"));
}

/* nft add rule ip TABLE CHAIN ..., the expressions added between these two */
static struct rtattr *rule_start(const char *table, const char *chain)
{
	nft_start(NFT_MSG_NEWRULE, NLM_F_APPEND);
	batch_put(NFTA_RULE_TABLE, table, strlen(table) + 1);
	batch_put(NFTA_RULE_CHAIN, chain, strlen(chain) + 1);
	return batch_put(NFTA_RULE_EXPRESSIONS | NLA_F_NESTED, NULL, 0);
}

/* nft add rule ip TABLE postrouting iifname BRIDGE oifname != BRIDGE masquerade
 * By the link it came in by, not by its source address, which root inside
 * may choose: no container sends onward with an address of its own. */
static void add_masquerade(const char *table, const char *bridge)
{
	struct rtattr *expressions = rule_start(table, "postrouting");

	compare_ifname(NFT_META_IIFNAME, NFT_CMP_EQ, bridge);
	compare_ifname(NFT_META_OIFNAME, NFT_CMP_NEQ, bridge);
	expr_end(expr_start("masq"));
	batch_close(expressions);
}

/*
 * From outside, BRIDGE given:
 *   nft add rule ip TABLE prerouting iifname != BRIDGE fib daddr type local
 *       tcp dport HOST dnat to ADDRESS:INSIDE
 * From the host itself, which prerouting never sees, BRIDGE NULL:
 *   nft add rule ip TABLE output ip daddr != 127.0.0.0/8 fib daddr type local
 *       tcp dport HOST dnat to ADDRESS:INSIDE
 * 127.0.0.0/8 stays out, as a packet from it may not leave the host; its
 * test is one byte, the address's first: nft's own is a mask, then a cmp.
 */
static void add_dnat(const char *table, const char *chain, const char *bridge,
		     struct in_addr address, const struct port_map *port)
{
	struct rtattr *expressions = rule_start(table, chain);
	const __u32 local = RTN_LOCAL;
	const __u8 protocol = port->protocol;
	const __be16 host = htons(port->host), inside = htons(port->inside);
	struct expr nat;

	if (bridge) {
		compare_ifname(NFT_META_IIFNAME, NFT_CMP_NEQ, bridge);
	} else {
		load_payload(NFT_PAYLOAD_NETWORK_HEADER, offsetof(struct iphdr, daddr), 1);
		compare(NFT_CMP_NEQ, "\x7f", 1);
	}
	load_address_type();
	compare(NFT_CMP_EQ, &local, sizeof(local));
	load_meta(NFT_META_L4PROTO);
	compare(NFT_CMP_EQ, &protocol, sizeof(protocol));
	load_payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, sizeof(host)); /* the dport */
	compare(NFT_CMP_EQ, &host, sizeof(host));
	/* dnat to: the address from register 1, the port from register 2 */
	nat = expr_start("immediate");
	put_u32(NFTA_IMMEDIATE_DREG, NFT_REG_1);
	put_data(NFTA_IMMEDIATE_DATA, &address, sizeof(address));
	expr_end(nat);
	nat = expr_start("immediate");
	put_u32(NFTA_IMMEDIATE_DREG, NFT_REG_2);
	put_data(NFTA_IMMEDIATE_DATA, &inside, sizeof(inside));
	expr_end(nat);
	nat = expr_start("nat");
	put_u32(NFTA_NAT_TYPE, NFT_NAT_DNAT);
	put_u32(NFTA_NAT_FAMILY, NFPROTO_IPV4);
	put_u32(NFTA_NAT_REG_ADDR_MIN, NFT_REG_1);
	put_u32(NFTA_NAT_REG_PROTO_MIN, NFT_REG_2);
	expr_end(nat);
	batch_close(expressions);
}

int add_nat_table(int sock, const char *name, const char *bridge, struct in_addr address,
		  const struct port_map *ports, int count)
{
	batch_begin();
	add_table(name);
	add_chain(name, "postrouting", NF_INET_POST_ROUTING, NF_IP_PRI_NAT_SRC);
	add_chain(name, "prerouting", NF_INET_PRE_ROUTING, NF_IP_PRI_NAT_DST);
	add_chain(name, "output", NF_INET_LOCAL_OUT, NF_IP_PRI_NAT_DST);
	add_masquerade(name, bridge);
	for (int i = 0; i < count; i++) {
		add_dnat(name, "prerouting", bridge, address, &ports[i]);
		add_dnat(name, "output", NULL, address, &ports[i]);
	}
	return batch_send(sock);
}
