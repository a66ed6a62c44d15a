/*
 * nft.h - stage 14's way out and ways in, as one table of nf_tables rules
 * per container, made by nft.c in one message to the kernel: what the `nft`
 * command would send, without the `nft` command.
 */
#ifndef NFT_H
#define NFT_H

#include <netinet/in.h>

/* -p HOST:INSIDE[/tcp|udp]: what reaches the host's port HOST goes to the
 * container's port INSIDE */
struct port_map {
	in_port_t host, inside;
	int protocol; /* IPPROTO_TCP or IPPROTO_UDP */
};

/* "8080:80/tcp" into a port_map: 0, or -1 */
int parse_port_map(const char *text, struct port_map *port);

/* A socket to nf_tables (NETLINK_NETFILTER), close-on-exec. */
int nft_open(void);

/*
 * nft add table ip NAME { flags owner; } with its chains and rules, all or
 * none, in one batch:
 *   - what comes in by BRIDGE and goes out by another link leaves with the
 *     host's address (masquerade);
 *   - each of the count ports that reaches the host, from outside or from
 *     the host itself, goes to the container at ADDRESS (dnat).
 * The table is sock's: when sock is closed, even by the kernel as we die,
 * the kernel deletes it. 0, or -1 and errno: ENOENT where the kernel has no
 * nat chains or expressions (modprobe nft_chain_nat), EEXIST if NAME is.
 */
int add_nat_table(int sock, const char *name, const char *bridge, struct in_addr address,
		  const struct port_map *ports, int count);

#endif
