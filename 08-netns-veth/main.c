/*
 * Stage 08: the network namespace, wired to the host. CLONE_NEWNET gives the
 * child a network stack of its own with nothing in it but a loopback that is
 * down. While the child waits, the parent makes a veth pair - two interfaces
 * joined like the ends of a cable - with one end on the host and the other,
 * named eth0, created straight in the child's namespace; it gives the host
 * end an address from a link-local /30 of the container's own and brings it
 * up. Released, the child brings up lo and eth0, addresses eth0 and routes
 * through the host end. When the container ends, the parent deletes the
 * host end, which takes the pair away at once.
 *
 * No `ip`: every step is a netlink message to the kernel (netlink.c).
 * Owning a network namespace, the container may mount a sysfs again.
 *
 * Mirrors: 001_0455fe89acfab686.txt, "6.Network namespace" (its ip commands);
 *          003_d86038220a13138e.txt, network.c and nl.c (veth over netlink).
 *
 *   sudo ./stage8 [-q] [-n NAME] [-r DIR] [--chroot] [--net N] [--] [command [args...]]
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <limits.h>
#include <linux/if_link.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/syscall.h>

#include "../stage.h"
#include "netlink.h"

/*
 * Link-local addresses (169.254.0.0/16, never routed beyond a link), cut
 * into /30s: a network, the host end, the container end, a broadcast.
 * Block N is 169.254.1.0 + 4N, and its host end is named stage8-N. The first
 * and last /24 are reserved by RFC 3927, and 169.254.169.0/24 holds the
 * metadata service of many clouds: the blocks stay in 169.254.1-168.
 */
#define NET_BLOCKS (168L * 64)
#define HOST_END_NAME "stage8-%d"

/* What the parent tells the child about its network, before "go". */
struct net_config {
	int has_veth; /* 0: no CAP_NET_ADMIN on the host, lo only */
	int block;
	struct in_addr host_end; /* the host end's address: the child's gateway */
	struct in_addr container_end;
};

struct container {
	char **argv; /* the command to run, NULL-terminated */
	const char *hostname;
	const char *rootfs;
	int use_chroot;     /* --chroot: chroot() instead of pivot_root() */
	int go[2];          /* parent -> child: "setup is done, go on" */
	int exec_report[2]; /* child -> parent: why exec failed, if it did */
	int net[2];         /* parent -> child: its struct net_config */
	int block;          /* --net N, or -1: the first free /30 */
	int host_end;       /* the host end's ifindex, once made; 0 before */
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: %s [-q] [-n NAME] [-r DIR] [--chroot] [--net N] [--] [command [args...]]\n"
		"Run command (default /bin/sh) as root and pid 1 in new user, UTS, IPC, PID,\n"
		"mount and network namespaces, with DIR as its root filesystem and eth0 wired\n"
		"to the host. Without sudo it runs too, with lo only.\n"
		"  -n, --hostname NAME   hostname inside (default: container)\n"
		"  -r, --rootfs DIR      the root filesystem (default: rootfs beside the\n"
		"                        binary, else ./rootfs; make rootfs builds one)\n"
		"      --chroot          switch with chroot() instead of pivot_root()\n"
		"      --net N           use the Nth /30 of 169.254.1.0-169.254.168.255 and host\n"
		"                        end stage8-N (default: the first free one)\n"
		"  -q, --quiet           no progress lines on stderr\n"
		"  -h, --help            show this help\n",
		program_invocation_short_name);
}

enum { OPT_CHROOT = 256, OPT_NET }; /* long options only: no letter */

/* "+" stops at the first non-option, so the command keeps its own flags. */
static void parse_options(int argc, char **argv, struct container *c)
{
	static const struct option longopts[] = {
		{ "hostname", required_argument, NULL, 'n' },
		{ "rootfs", required_argument, NULL, 'r' },
		{ "chroot", no_argument, NULL, OPT_CHROOT },
		{ "net", required_argument, NULL, OPT_NET },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static char *default_command[] = { "/bin/sh", NULL };
	char *end;
	long block;
	int opt;

	argv[0] = program_invocation_short_name; /* getopt's messages: "stageN: ..." */
	while ((opt = getopt_long(argc, argv, "+n:r:qh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			c->hostname = optarg;
			break;
		case 'r':
			c->rootfs = optarg;
			break;
		case OPT_CHROOT:
			c->use_chroot = 1;
			break;
		case OPT_NET:
			block = strtol(optarg, &end, 10);
			if (end == optarg || *end != '\0' || block < 0 || block >= NET_BLOCKS) {
				usage(stderr);
				exit(EXIT_STAGE_FAILED);
			}
			c->block = (int)block;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(EXIT_STAGE_FAILED);
		}
	}
	c->argv = optind < argc ? argv + optind : default_command;
}

/* Root inside is us outside: a rootfs we cannot read, it cannot read either.
 * Said up front, naming it, rather than as a failed mount in the child. */
static void check_rootfs_readable(const char *rootfs)
{
	char what[PATH_MAX + 8];

	if (faccessat(AT_FDCWD, rootfs, R_OK | X_OK, AT_EACCESS) == 0)
		return;
	snprintf(what, sizeof(what), "rootfs %s", rootfs);
	die(what, "the container's root is you on the host, and you cannot read it");
}

/*
 * Before anything is mounted: every mount in our copy of the table becomes
 * private, recursively, so that nothing mounted here propagates to the
 * host - and nothing the host mounts later appears in here.
 */
static void make_mounts_private(void)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		die("child: make / private (mount MS_REC|MS_PRIVATE)", NULL);
}

/*
 * The new root must be a mount point for pivot_root(); the rootfs is a
 * directory, so mount it on itself. chroot() has no such rule, but the
 * same steps for both keep the comparison to the one call that differs.
 */
static void make_rootfs_a_mount(const char *rootfs)
{
	if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		die("child: bind the rootfs onto itself", NULL);
}

/*
 * A /dev of the container's own: a small tmpfs holding the device nodes
 * programs expect, each a bind mount of the host's node. mknod() would make
 * the same nodes, but a user namespace (stage 07) may not call it; a bind
 * works in both. No disks, no /dev/mem, no /dev/kmsg: what is not there
 * cannot be opened. Done before the switch, while the host's /dev is in reach.
 */
static void mount_dev(const char *rootfs)
{
	static const char *const nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };
	static const char *const links[][2] = {
		{ "fd", "/proc/self/fd" },
		{ "stdin", "/proc/self/fd/0" },
		{ "stdout", "/proc/self/fd/1" },
		{ "stderr", "/proc/self/fd/2" },
	};
	char dev[PATH_MAX], path[PATH_MAX + 16], host_node[32];

	snprintf(dev, sizeof(dev), "%s/dev", rootfs);
	if (mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755,size=64k") < 0)
		die("child: mount a tmpfs on the rootfs's /dev",
		    errno == ENOENT ? "the rootfs needs /dev, /proc and /sys directories" : NULL);
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		int fd;

		snprintf(path, sizeof(path), "%s/%s", dev, nodes[i]);
		snprintf(host_node, sizeof(host_node), "/dev/%s", nodes[i]);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (fd < 0 || close(fd) < 0)
			die("child: make a file in /dev to bind a device onto", NULL);
		if (mount(host_node, path, NULL, MS_BIND, NULL) < 0)
			die("child: bind a device node into /dev", NULL);
	}
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dev, links[i][0]);
		if (symlink(links[i][1], path) < 0)
			die("child: symlink in /dev", NULL);
	}
}

/* A proc of our own on the rootfs's /proc: it shows the PID namespace of
 * the process that mounts it, ours. Nothing on it is meant to be run. */
static void mount_proc(const char *rootfs)
{
	char proc[PATH_MAX];

	snprintf(proc, sizeof(proc), "%s/proc", rootfs);
	if (mount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		die("child: mount proc on the rootfs's /proc", NULL);
}

/* A sysfs again, read-only: the kernel mounts one for whoever owns the
 * network namespace it shows, and the container now owns its own. */
static void mount_sys(const char *rootfs)
{
	char sys[PATH_MAX];

	snprintf(sys, sizeof(sys), "%s/sys", rootfs);
	if (mount("sysfs", sys, "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		die("child: mount sysfs on the rootfs's /sys", NULL);
}

/*
 * pivot_root(new_root, put_old) makes new_root the root of the mount
 * namespace and moves the old root to put_old. Called as pivot_root(".", ".")
 * from inside the rootfs, it stacks the old root on top of the new one, at
 * "/"; unmounting "." then takes the old root away - lazily (MNT_DETACH), as
 * the host's mounts are in use - and with it every path back to the host.
 * No directory for put_old is needed in the rootfs. (pivot_root(2), NOTES.)
 */
static void pivot_into(const char *rootfs)
{
	if (chdir(rootfs) < 0)
		die("child: chdir into the rootfs", NULL);
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		die("child: pivot_root", NULL);
	if (umount2(".", MNT_DETACH) < 0)
		die("child: detach the old root", NULL);
	if (chdir("/") < 0)
		die("child: chdir /", NULL);
}

/*
 * chroot() changes what "/" means to this process and its children, nothing
 * more: the mount namespace, and every mount in it, still hangs from the
 * host's root. The chdir() comes first: chroot() leaves the working
 * directory where it was, outside the new root.
 */
static void chroot_into(const char *rootfs)
{
	if (chdir(rootfs) < 0)
		die("child: chdir into the rootfs", NULL);
	if (chroot(".") < 0)
		die("child: chroot", NULL);
}

/*
 * Who the child is on the host: the parent writes its maps, "inside outside
 * count" - container root is our uid and gid, and only those, one line each.
 * A process without CAP_SETUID over our namespace may map only itself, once;
 * and, before gid_map, it must deny setgroups() in the child's namespace for
 * good, or root inside could drop a supplementary group that is there to
 * keep it out of something (a file mode like 0705). The maps are written once
 * and cannot change. Unmapped, the child's ids read 65534: it could not make
 * a file, and its exec would drop every capability. So it waits on the pipe.
 */
static void map_root_to_caller(pid_t child)
{
	char map[64];

	if (write_file(child, "setgroups", "deny") < 0)
		die_in_setup(child, "parent: write deny to setgroups", NULL);
	snprintf(map, sizeof(map), "0 %ld 1\n", (long)getegid());
	if (write_file(child, "gid_map", map) < 0)
		die_in_setup(child, "parent: write gid_map", hint_for_userns(errno));
	snprintf(map, sizeof(map), "0 %ld 1\n", (long)geteuid());
	if (write_file(child, "uid_map", map) < 0)
		die_in_setup(child, "parent: write uid_map", hint_for_userns(errno));
	say("parent: mapped root inside to uid %ld, gid %ld outside", (long)geteuid(),
	    (long)getegid());
}

/*
 * The netlink requests, each the message one `ip` command sends. The
 * layout of each is drawn in docs/08-netns-veth.md.
 */

/* ip link add NAME type veth peer name eth0 netns PID */
static int add_veth_pair(int sock, const char *host_end, pid_t child)
{
	struct nl_request req;
	struct ifinfomsg link = { .ifi_family = AF_UNSPEC };
	struct ifinfomsg peer_link = { .ifi_family = AF_UNSPEC };
	struct rtattr *info, *data, *peer;
	int pid = child;

	nl_start(&req, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &link, sizeof(link));
	nl_put(&req, IFLA_IFNAME, host_end, strlen(host_end) + 1);
	info = nl_nest_begin(&req, IFLA_LINKINFO, NULL, 0);
	nl_put(&req, IFLA_INFO_KIND, "veth", sizeof("veth"));
	data = nl_nest_begin(&req, IFLA_INFO_DATA, NULL, 0);
	peer = nl_nest_begin(&req, VETH_INFO_PEER, &peer_link, sizeof(peer_link));
	nl_put(&req, IFLA_IFNAME, "eth0", sizeof("eth0"));
	nl_put(&req, IFLA_NET_NS_PID, &pid, sizeof(pid));
	nl_nest_end(&req, peer);
	nl_nest_end(&req, data);
	nl_nest_end(&req, info);
	return nl_talk(sock, &req);
}

/* ip addr add ADDRESS/30 dev INDEX */
static int add_address(int sock, int ifindex, struct in_addr address)
{
	struct nl_request req;
	struct ifaddrmsg addr = { .ifa_family = AF_INET,
				  .ifa_prefixlen = 30,
				  .ifa_index = ifindex };

	nl_start(&req, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &addr, sizeof(addr));
	nl_put(&req, IFA_LOCAL, &address, sizeof(address));
	nl_put(&req, IFA_ADDRESS, &address, sizeof(address));
	return nl_talk(sock, &req);
}

/* ip link set INDEX up: ifi_change says which flags to touch, ifi_flags to what */
static int bring_up(int sock, int ifindex)
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
static int add_default_route(int sock, int ifindex, struct in_addr gateway)
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

	nl_start(&req, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &route, sizeof(route));
	nl_put(&req, RTA_GATEWAY, &gateway, sizeof(gateway));
	nl_put(&req, RTA_OIF, &ifindex, sizeof(ifindex));
	return nl_talk(sock, &req);
}

/* ip link del INDEX: one end of a veth pair takes the other with it */
static int delete_link(int sock, int ifindex)
{
	struct nl_request req;
	struct ifinfomsg link = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex };

	nl_start(&req, RTM_DELLINK, 0, &link, sizeof(link));
	return nl_talk(sock, &req);
}

static struct in_addr block_address(int block, int which) /* 1: host end, 2: container */
{
	struct in_addr address = { htonl((169u << 24 | 254u << 16 | 1u << 8) + 4u * block +
					 which) };

	return address;
}

/* The parent's last word on the network: the host end goes, and the pair with it. */
static void remove_host_end(struct container *c)
{
	int sock;

	if (!c->host_end)
		return;
	sock = nl_open();
	/* ENODEV: the kernel's own teardown of the namespace was first. */
	if (sock < 0 || (delete_link(sock, c->host_end) < 0 && errno != ENODEV) || close(sock) < 0)
		die("parent: delete the host end of the veth pair", NULL);
	c->host_end = 0;
}

/* A failure while the child waits: nothing of the pair may outlive the error line. */
__attribute__((noreturn)) static void fail_network(struct container *c, pid_t child,
						   const char *what)
{
	int err = errno;

	remove_host_end(c);
	errno = err;
	die_in_setup(child, what, NULL);
}

/*
 * In the window, after the maps: the veth pair, with eth0 made directly in
 * the child's network namespace (IFLA_NET_NS_PID), and the host end named
 * after its /30 - the kernel refuses a second link of the same name
 * (EEXIST), so two stages can never take the same block: the name is the
 * lock. Without CAP_NET_ADMIN on the host (run without sudo) there is no
 * pair: the container gets lo only, and the stage says so.
 */
static int make_veth_pair(int sock, struct container *c, pid_t child, char name[IFNAMSIZ])
{
	for (int block = c->block >= 0 ? c->block : 0; block < NET_BLOCKS; block++) {
		snprintf(name, IFNAMSIZ, HOST_END_NAME, block);
		if (add_veth_pair(sock, name, child) == 0)
			return block;
		if (errno == EPERM)
			return -1;
		if (errno != EEXIST || c->block >= 0)
			die_in_setup(child, "parent: make the veth pair",
				     errno == EEXIST ? "that --net block is in use" : NULL);
	}
	die_in_setup(child, "parent: make the veth pair", "every block is in use");
}

static void wire_network(struct container *c, pid_t child)
{
	struct net_config net = { 0 };
	char name[IFNAMSIZ];
	int sock = nl_open();

	if (sock < 0)
		die_in_setup(child, "parent: netlink socket", NULL);
	net.block = make_veth_pair(sock, c, child, name);
	if (net.block < 0) {
		/* Not an error, but not a progress line either: -q keeps it. */
		shout("%s: no CAP_NET_ADMIN on the host, so no veth pair: the container gets lo only",
		      program_invocation_short_name);
	} else {
		net.has_veth = 1;
		net.host_end = block_address(net.block, 1);
		net.container_end = block_address(net.block, 2);
		c->host_end = if_nametoindex(name);
		if (!c->host_end)
			fail_network(c, child, "parent: find the host end");
		if (add_address(sock, c->host_end, net.host_end) < 0)
			fail_network(c, child, "parent: address the host end");
		if (bring_up(sock, c->host_end) < 0)
			fail_network(c, child, "parent: bring the host end up");
		say("parent: veth pair %s <-> eth0, host end %s/30", name, inet_ntoa(net.host_end));
	}
	if (close(sock) < 0)
		fail_network(c, child, "parent: close the netlink socket");
	if (write(c->net[1], &net, sizeof(net)) != sizeof(net))
		fail_network(c, child, "parent: write the network config");
	if (close(c->net[1]) < 0 || close(c->net[0]) < 0)
		fail_network(c, child, "parent: close the network config pipe");
}

/* The child's side: lo, and eth0 if the parent made one, up and addressed. */
static void bring_up_network(struct container *c)
{
	struct net_config net;
	int sock, eth0;

	if (close(c->net[1]) < 0 || read(c->net[0], &net, sizeof(net)) != sizeof(net) ||
	    close(c->net[0]) < 0)
		die("child: read the network config", NULL);
	sock = nl_open();
	if (sock < 0)
		die("child: netlink socket", NULL);
	if (bring_up(sock, if_nametoindex("lo")) < 0)
		die("child: bring lo up", NULL);
	if (!net.has_veth) {
		say("child: lo is up; no eth0");
		if (close(sock) < 0)
			die("child: close the netlink socket", NULL);
		return;
	}
	eth0 = if_nametoindex("eth0");
	if (!eth0)
		die("child: find eth0", NULL);
	if (add_address(sock, eth0, net.container_end) < 0)
		die("child: address eth0", NULL);
	if (bring_up(sock, eth0) < 0)
		die("child: bring eth0 up", NULL);
	if (add_default_route(sock, eth0, net.host_end) < 0)
		die("child: add the default route", NULL);
	if (close(sock) < 0)
		die("child: close the netlink socket", NULL);
	say("child: lo is up, eth0 is %s/30, default route via the host end",
	    inet_ntoa(net.container_end));
}

/* The child: clone() starts it here, on the stack we gave it. */
static int container_main(void *arg)
{
	struct container *c = arg;

	exit_with_parent();
	wait_for_parent(c->go); /* returns only on "go": also proves it lives */
	say("child: the parent says go");

	/* Only this namespace's copy of the name changes. */
	if (sethostname(c->hostname, strlen(c->hostname)) < 0)
		die("child: sethostname",
		    errno == EINVAL ? "a hostname is at most 64 bytes" : hint_for_userns(errno));
	say("child: hostname is now '%s'", c->hostname);

	bring_up_network(c);

	make_mounts_private();
	make_rootfs_a_mount(c->rootfs);
	mount_dev(c->rootfs);
	mount_proc(c->rootfs);
	mount_sys(c->rootfs);
	say("child: mounted /dev, /proc and /sys (read-only) in %s", c->rootfs);
	if (c->use_chroot)
		chroot_into(c->rootfs);
	else
		pivot_into(c->rootfs);
	say("child: / is now %s, by %s", c->rootfs, c->use_chroot ? "chroot" : "pivot_root");

	say("child: I am pid %ld, uid %ld, running %s", (long)getpid(), (long)getuid(), c->argv[0]);
	exec_command(c->argv, c->exec_report);
}

/* The parent: make the child, then wait for it. */
int main(int argc, char **argv)
{
	struct container c = { .hostname = "container", .block = -1 };
	pid_t child;
	int status;

	parse_options(argc, argv, &c);
	keep_only_std_fds();
	if (!c.rootfs)
		c.rootfs = default_rootfs();
	check_rootfs(c.rootfs, c.argv[0]);
	check_rootfs_readable(c.rootfs);
	check_terminal();
	make_pipe(c.go, "pipe for the go signal");
	make_pipe(c.exec_report, "pipe for the exec report");
	make_pipe(c.net, "pipe for the network config");
	block_forwarded_signals();

	/* The child runs on its own stack, and clone() wants the top of it, not
	 * its start: stacks grow down, so the child's first push lands just
	 * below the address we pass (the picture is in docs/01-clone.md).
	 *
	 * SIGCHLD: the signal the kernel sends us when the child ends, which
	 * is what lets waitpid() see it as an ordinary child. CLONE_NEWUTS: the
	 * child starts in a new UTS namespace, a copy of ours. CLONE_NEWIPC: and
	 * in a new IPC namespace, which starts empty. CLONE_NEWPID: and is pid 1
	 * of a new PID namespace. CLONE_NEWNS: and has a mount table of its
	 * own, a copy of ours. CLONE_NEWUSER: and a user namespace, created
	 * first, which owns all the others. CLONE_NEWNET: and a network stack
	 * of its own, with only a loopback, down. */
	child = clone(container_main, child_stack_top(),
		      CLONE_NEWUSER | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID | CLONE_NEWNS |
			      CLONE_NEWNET | SIGCHLD,
		      &c);
	if (child < 0)
		die("clone", hint_for_userns(errno));
	say("parent: cloned child %ld into new user, UTS, IPC, PID, mount and network namespaces",
	    (long)child);

	/* The child is waiting: here the parent sets up what the child needs
	 * from outside - its maps, then its network. */
	map_root_to_caller(child);
	wire_network(&c, child);
	say("parent: setup done, telling the child to go");
	release_child(c.go);

	report_exec_failure(c.exec_report, c.argv[0]);
	status = wait_for_container(child);
	/* Not left to the kernel's teardown of the namespace, which comes
	 * later, asynchronously: the host is clean when the stage returns. */
	remove_host_end(&c);
	return status;
}
