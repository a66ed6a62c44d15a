/*
 * bridge.c - stage 13's bridge and its addresses (bridge.h), and stage 14's
 * forwarding, which lives as long.
 *
 * Why a subnet must be free: adding the gateway's address to the bridge adds
 * a route to the whole subnet, via the bridge. If the host already routes
 * some of it elsewhere - its LAN, a VPN, docker0 - the two routes overlap,
 * and the kernel sends each packet by the more specific one (the first, if
 * they are alike). One side goes dark: the containers, or the hosts out
 * there with those addresses. So, as docker picks a bridge's subnet from its
 * address pools, we take the first of a short list that no route covers.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netlink.h"
#include "bridge.h"

/*
 * Private (RFC 1918), and off the usual ones: home LANs (192.168.0-1.x,
 * 10.0.0.x), docker's first pools (172.17-20.x), a cloud's default network
 * (AWS's 172.31.0.0/16, GCP's 10.128.0.0/9). Only routes are checked, so a
 * network the host reaches through its default route - the rest of a cloud
 * VPC, a LAN behind a router - goes unseen: there, choose with --subnet.
 */
static const char *const default_subnets[] = { "10.13.13.0/24", "172.29.13.0/24",
					       "192.168.213.0/24" };

int parse_subnet(const char *cidr, struct subnet *subnet)
{
	char net[INET_ADDRSTRLEN], *end;
	const char *slash = strchr(cidr, '/');
	long prefix;

	if (!slash || slash - cidr >= (long)sizeof(net))
		return -1;
	snprintf(net, sizeof(net), "%.*s", (int)(slash - cidr), cidr);
	prefix = strtol(slash + 1, &end, 10);
	if (inet_pton(AF_INET, net, &subnet->net) != 1 || !isdigit((unsigned char)slash[1]) ||
	    *end != '\0' || prefix < 16 || prefix > 30 || ntohl(subnet->net.s_addr) << prefix != 0)
		return -1;
	subnet->prefix = (int)prefix;
	return 0;
}

struct in_addr address_on(struct subnet subnet, int n)
{
	struct in_addr address = { htonl(ntohl(subnet.net.s_addr) + n) };

	return address;
}

int last_host(struct subnet subnet)
{
	return (1 << (32 - subnet.prefix)) - 2;
}

int host_number(struct subnet subnet, struct in_addr address)
{
	uint32_t n = ntohl(address.s_addr) - ntohl(subnet.net.s_addr);

	return n >= 2 && n <= (uint32_t)last_host(subnet) ? (int)n : -2;
}

struct check {
	struct subnet *subnet;
	int bridge;
};

/* Two prefixes overlap when they agree on the bits of the shorter one. */
static int covers(const struct route *route, void *data)
{
	struct check *check = data;
	int prefix = route->prefix < check->subnet->prefix ? route->prefix : check->subnet->prefix;

	if (route->prefix == 0 || (check->bridge && route->oif == check->bridge))
		return 0;
	/* prefix is 1 to 30 here: a shift by 32 would be undefined */
	if ((route->dst.s_addr ^ check->subnet->net.s_addr) & htonl(~0u << (32 - prefix)))
		return 0;
	errno = EEXIST;
	return -1;
}

static int subnet_free(int sock, const struct subnet *subnet, int bridge)
{
	struct check check = { (struct subnet *)subnet, bridge }; /* only read */

	return for_each_route(sock, covers, &check);
}

static int default_subnet(int sock, struct subnet *subnet, int bridge)
{
	for (size_t i = 0; i < sizeof(default_subnets) / sizeof(default_subnets[0]); i++) {
		if (parse_subnet(default_subnets[i], subnet) < 0)
			return -1;
		if (subnet_free(sock, subnet, bridge) == 0)
			return 0;
		if (errno != EEXIST)
			return -1;
	}
	return -1; /* errno EEXIST: every one is covered */
}

static int kernel_route(const struct route *route, void *data)
{
	struct check *check = data;
	struct subnet *subnet = check->subnet;

	if (route->kernel && route->oif == check->bridge && route->prefix > 0) {
		subnet->net = route->dst;
		subnet->prefix = route->prefix;
	}
	return 0;
}

static int subnet_of(int sock, int bridge, struct subnet *subnet)
{
	struct check check = { subnet, bridge };

	subnet->prefix = 0;
	if (for_each_route(sock, kernel_route, &check) < 0)
		return -1;
	if (subnet->prefix)
		return 0;
	errno = EADDRNOTAVAIL; /* the bridge has no address */
	return -1;
}

/*
 * Forwarding (net.ipv4.ip_forward, of this network namespace): the host
 * passes on what the bridge brings it, to the world and back. Where it is
 * off, the bridge's maker switches it on - which also sets
 * conf.all.accept_redirects to its opposite - and notes both as it found
 * them on the bridge, as its alias: the bridge lives from the first
 * container to the last, and past a kill -9 until the next start, and so
 * does the note. The bridge's removal puts both back.
 */
#define FORWARDING "/proc/sys/net/ipv4/ip_forward"
#define REDIRECTS "/proc/sys/net/ipv4/conf/all/accept_redirects"
#define NOTE "stage16 found ip_forward %c, accept_redirects %c"

static int sysctl_byte(const char *path, int flags, char *value)
{
	int fd = open(path, flags | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : flags == O_RDONLY ? read(fd, value, 1) : write(fd, value, 1);

	return fd < 0 || close(fd) < 0 || n != 1 ? -1 : 0;
}

static int switch_forwarding_on(int sock, int bridge)
{
	char forwarding, redirects, on = '1', note[64];

	if (sysctl_byte(FORWARDING, O_RDONLY, &forwarding) < 0 ||
	    sysctl_byte(REDIRECTS, O_RDONLY, &redirects) < 0)
		return -1;
	if (forwarding == '1')
		return 0;
	snprintf(note, sizeof(note), NOTE, forwarding, redirects);
	if (set_alias(sock, bridge, note) < 0)
		return -1;
	return sysctl_byte(FORWARDING, O_WRONLY, &on);
}

int remove_bridge(int sock, int bridge)
{
	char note[256], forwarding, redirects;

	if (get_alias(sock, bridge, note, sizeof(note)) < 0)
		return -1;
	if (sscanf(note, NOTE, &forwarding, &redirects) == 2 &&
	    (sysctl_byte(FORWARDING, O_WRONLY, &forwarding) < 0 ||
	     sysctl_byte(REDIRECTS, O_WRONLY, &redirects) < 0))
		return -1;
	return delete_link(sock, bridge);
}

/* Made, on a free subnet; or 0 with nothing left made. */
static int make_bridge(int sock, const char *name, struct subnet *subnet)
{
	int bridge, err;

	if (add_bridge(sock, name) < 0)
		return 0;
	bridge = if_nametoindex(name);
	/* Root inside may send it router advertisements (CVE-2020-13401). */
	if (bridge &&
	    (subnet->prefix ? subnet_free(sock, subnet, bridge)
			    : default_subnet(sock, subnet, bridge)) == 0 &&
	    ipv6_off(name) == 0 &&
	    add_address(sock, bridge, address_on(*subnet, 1), subnet->prefix) == 0 &&
	    bring_up(sock, bridge) == 0 && switch_forwarding_on(sock, bridge) == 0)
		return bridge;
	err = errno;
	if (bridge)
		delete_link(sock, bridge);
	errno = err;
	return 0;
}

int find_bridge(int sock, const char *name, struct subnet *subnet, int *made)
{
	struct subnet wanted = *subnet;
	int bridge = if_nametoindex(name), ports = 0;

	*made = 0;
	if (bridge && (ports = count_ports(sock, bridge)) < 0)
		return 0;
	if (ports > 0) {
		if (subnet_of(sock, bridge, subnet) < 0)
			return 0;
		if (wanted.prefix && memcmp(&wanted, subnet, sizeof(wanted)) != 0) {
			errno = EEXIST;
			return 0;
		}
		return bridge;
	}
	if (bridge && remove_bridge(sock, bridge) < 0 && errno != ENODEV)
		return 0;
	bridge = make_bridge(sock, name, subnet);
	*made = bridge != 0;
	return bridge;
}
