/*
 * bridge.h - stage 13's bridge, found or made, and its addresses: which
 * subnet it takes, and address N of it. A subnet must be one that no route
 * of the host covers (bridge.c says why), so each check reads the routes.
 * main.c holds the lock around each of these, and the bridge's last port.
 */
#ifndef BRIDGE_H
#define BRIDGE_H

#include <netinet/in.h>

struct subnet {
	struct in_addr net; /* its first address, host bits 0 */
	int prefix; /* 16 to 30: host ends' names stay short enough (IFNAMSIZ) */
};

/* "10.13.13.0/24" into a subnet: 0, or -1 unless its host bits are 0 and
 * its prefix 16 to 30 */
int parse_subnet(const char *cidr, struct subnet *subnet);

/* Address N of the subnet: 0 is the network's, 1 the gateway's. */
struct in_addr address_on(struct subnet subnet, int n);

/* The last N a container may take: the broadcast address is the next. */
int last_host(struct subnet subnet);

/* N, for ADDRESS on the subnet (--ip); -2 unless 2 <= N <= last_host() */
int host_number(struct subnet subnet, struct in_addr address);

/*
 * The bridge NAME's ifindex, with its subnet in subnet. One with ports is
 * taken as it is: a --subnet (subnet's prefix not 0) other than its own is
 * EEXIST. One with none was left by a stage killed with -9, and goes. Else
 * it is made (*made = 1), on --subnet's or the first default subnet no route
 * covers (EEXIST if one does), with the gateway's address, IPv6 off, up.
 * 0 and errno on failure, with nothing made left: EPERM without
 * CAP_NET_ADMIN on the host. The one it makes has the host forwarding
 * (net.ipv4.ip_forward), switched on if it was off.
 */
int find_bridge(int sock, const char *name, struct subnet *subnet, int *made);

/* ip link del BRIDGE, the forwarding it switched on put back as it was */
int remove_bridge(int sock, int bridge);

#endif
