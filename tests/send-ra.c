/*
 * tests/send-ra.c: a router advertisement, as root inside a container may
 * send one: from the link named, by its link-local address, to all nodes on
 * that link, with a router lifetime of 1800 s. A link just up has neither a
 * route for multicast nor an address that is not tentative until IPv6 is
 * done with it: polled for, 5 s at most. A host that takes it
 * adds a default route through the sender. Built static, so that it runs in
 * the busybox rootfs: send-ra eth0.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

int main(int argc, char **argv)
{
	const struct timespec tick = { 0, 20000000 };
	struct sockaddr_in6 to = { .sin6_family = AF_INET6 };
	struct nd_router_advert ra;
	int hops = 255, sock;

	if (argc != 2 || !(to.sin6_scope_id = if_nametoindex(argv[1]))) {
		fprintf(stderr, "usage: send-ra IFNAME\n");
		return 2;
	}
	inet_pton(AF_INET6, "ff02::1", &to.sin6_addr);
	memset(&ra, 0, sizeof(ra));
	ra.nd_ra_type = ND_ROUTER_ADVERT;
	ra.nd_ra_router_lifetime = htons(1800);
	sock = socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6);
	if (sock < 0 || setsockopt(sock, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops)) < 0) {
		perror("send-ra: socket");
		return 1;
	}
	for (int tries = 0; tries < 250; tries++) {
		if (sendto(sock, &ra, sizeof(ra), 0, (struct sockaddr *)&to, sizeof(to)) == sizeof(ra))
			return 0;
		if (errno != EADDRNOTAVAIL && errno != ENETUNREACH)
			break;
		nanosleep(&tick, NULL);
	}
	perror("send-ra: sendto");
	return 1;
}
