/*
 * Stage 16: root inside is nobody outside. Under sudo the child's user
 * namespace maps a range of 65,536 ids, the caller's from /etc/subuid, as
 * podman takes it, or a block no one holds: root inside is an unprivileged
 * uid on the host, and every id an image uses exists. The image, the host
 * root's, is shown through an idmapped mount, as root's, and never copied.
 *
 * Mirrors: 001_0455fe89acfab686.txt's user namespace section, whose map of
 *          one id is stage 07's; no article maps a range.
 *
 *   sudo ./stage16 [-q] [-n NAME] [-r DIR] [--chroot] [--net N] [--memory SIZE]
 *                  [--pids N] [--cpus FRACTION] [--keep DIR] [--uptime SECONDS]
 *                  [--name NAME] [--subnet CIDR] [--ip ADDR]
 *                  [-p HOST:PORT[/tcp|udp]]... [--cap-add CAP]... [--cap-drop CAP]...
 *                  [--security-opt seccomp=unconfined] [--userns-remap START:COUNT]
 *                  [--] [command...]
 *   sudo ./stage16 [-q] exec NAME [--] [command [args...]]
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <linux/magic.h>
#include <grp.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <time.h>

#include "../stage.h"
#include "bridge.h"
#include "caps.h"
#include "cgroup.h"
#include "fdpass.h"
#include "join.h"
#include "keep.h"
#include "mountapi.h"
#include "name.h"
#include "netlink.h"
#include "nft.h"
#include "range.h"
#include "seccomp.h"

/*
 * The bridge, our docker0, on a subnet (bridge.h): address 1 is the
 * gateway's, on the bridge; address N is container N's eth0, whose host end
 * is stage16-N. The kernel refuses a second link of a name (EEXIST), so the
 * name is the address's lock, as in 08.
 */
#define BRIDGE_NAME "stage16br"
#define HOST_END_NAME "stage16-%hu"

static int host_end; /* the host end's ifindex, once made; 0 before */
static int bridge; /* the bridge's, once found or made; 0 before, and after */
static int bridge_lock = -1; /* /run/stage16.lock, while flock()ed; -1 if not */
static int nat = -1; /* the nf_tables socket our table is owned by; -1 before */

/* The controllers we limit, and our cgroup in each one's hierarchy: on v2
 * one directory for all three, [0]; "" until made, and after removal. */
enum { MEMORY, PIDS, CPU, CONTROLLERS };
static const char *const controller_names[] = { "memory", "pids", "cpu" };
static char cgroup_dir[CONTROLLERS][PATH_MAX];

struct container {
	char **argv; /* the command to run, NULL-terminated */
	const char *hostname;
	const char *rootfs;
	int use_chroot; /* --chroot: chroot() instead of pivot_root() */
	int go[2]; /* parent -> child: "setup is done, go on" */
	int tty; /* our terminal, if we are its foreground job; else -1 */
	int net[2]; /* parent -> child: its subnet and address N, or N -1: lo only */
	int host; /* --net N: address N of the subnet, or -1: the first free */
	struct in_addr ip; /* --ip ADDR, or 0; it comes before --net */
	struct subnet subnet; /* --subnet CIDR, or prefix 0: the bridge's, or a default */
	struct port_map ports[16]; /* -p HOST:PORT, each */
	int port_count;
	long long memory; /* --memory, in bytes */
	long pids; /* --pids: tasks, threads included */
	long cpu_quota; /* --cpus, as us of CPU time per CPU_PERIOD */
	int cgroup_v2; /* one unified hierarchy at /sys/fs/cgroup; else v1 */
	char v1_hierarchy[CONTROLLERS][64]; /* v1: its controllers, "cpu,cpuacct" */
	const char *keep; /* --keep DIR: the upper layer's home on the host, or NULL */
	int keep_fd; /* DIR, open and locked while the stage runs (keep.h) */
	long uptime; /* --uptime: the container's clocks start there, in seconds */
	const char *name; /* --name, else -n's hostname, else our pid */
	const char *exec; /* exec NAME: the container to join, or NULL */
	unsigned long long caps; /* the capabilities root inside keeps, a bit each */
	int unconfined; /* --security-opt seccomp=unconfined: no filter */
	int ranged, remapped; /* under sudo: a range; --userns-remap chose it */
	struct id_range uids, gids; /* what ids 0 .. count-1 inside are outside */
	int image[2]; /* parent -> child: the image, idmapped, if it is */
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: %s [-q] [-n NAME] [-r DIR] [--chroot] [--net N] [--memory SIZE]\n"
		"          [--pids N] [--cpus FRACTION] [--keep DIR] [--uptime SECONDS]\n"
		"          [--name NAME] [--subnet CIDR] [--ip ADDR] [-p HOST:PORT[/tcp|udp]]...\n"
		"          [--cap-add CAP]... [--cap-drop CAP]... [--security-opt seccomp=unconfined]\n"
		"          [--userns-remap START:COUNT] [--] [command [args...]]\n"
		"       %s [-q] exec NAME [--] [command [args...]]\n"
		"Run command (default /bin/sh) as root and pid 1 in new user, UTS, IPC, PID,\n"
		"mount, network, cgroup and time namespaces, on an overlay of DIR as its root,\n"
		"eth0 wired to the host, limits, and clocks of its own. Without sudo it runs\n"
		"too: lo only, no limits.\n"
		"  -n, --hostname NAME   hostname inside (default: container)\n"
		"  -r, --rootfs DIR      the root filesystem (default: rootfs beside the\n"
		"                        binary, else ./rootfs; make rootfs builds one)\n"
		"      --chroot          switch with chroot() instead of pivot_root()\n"
		"      --net N           take address N of the subnet, host end stage16-N\n"
		"      --ip ADDR         take address ADDR (default: the first free one)\n"
		"      --subnet CIDR     the bridge's, if this container makes it (default: the\n"
		"                        first of bridge.c's three that no route covers)\n"
		"      --memory SIZE     memory limit, in bytes or with K, M or G (default 256M)\n"
		"      --pids N          at most N processes and threads (default 64)\n"
		"      --cpus FRACTION   CPU time, 0.5 being half of one CPU (default 1)\n"
		"      --keep DIR        keep the container's writes in DIR/upper, for the next\n"
		"                        run with DIR (default: on a tmpfs, gone at the exit)\n"
		"      --uptime SECONDS  the container's uptime at its start (default 0)\n"
		"      --name NAME       its name, for exec (default: -n's NAME, else our pid)\n"
		"  -p, --publish HOST:PORT[/tcp|udp]  what reaches the host's port HOST goes\n"
		"                        to the container's PORT (default tcp); repeatable\n"
		"      --cap-add/--cap-drop CAP  keep or drop capability CAP too (CHOWN, ALL)\n"
		"      --security-opt seccomp=unconfined  no seccomp filter, to compare\n"
		"      --userns-remap START:COUNT  under sudo, root inside is uid and gid START\n"
		"                        (default: SUDO_USER's in /etc/subuid, else a free one)\n"
		"  -q, --quiet           no progress lines on stderr\n"
		"  -h, --help            show this help\n",
		program_invocation_short_name, program_invocation_short_name);
}

/* The options with no letter. */
enum { OPT_CHROOT = 256, OPT_NET, OPT_MEMORY, OPT_PIDS, OPT_CPUS, OPT_KEEP, OPT_UPTIME, OPT_NAME };
enum { OPT_IP = 300, OPT_SUBNET };
enum { OPT_CAP_ADD = 400, OPT_CAP_DROP, OPT_SECURITY_OPT };
enum { OPT_USERNS_REMAP = 500 };

/* Docker's default set (moby's oci/caps/defaults.go), enough for files'
 * owners and modes, users, ping, ports below 1024: CapBnd a80425fb. */
#define CAP(name) (1ULL << CAP_##name)
#define DOCKER_CAPS                                                                                \
	(CAP(CHOWN) | CAP(DAC_OVERRIDE) | CAP(FSETID) | CAP(FOWNER) | CAP(MKNOD) | CAP(NET_RAW) |  \
	 CAP(SETGID) | CAP(SETUID) | CAP(SETFCAP) | CAP(SETPCAP) | CAP(NET_BIND_SERVICE) |         \
	 CAP(SYS_CHROOT) | CAP(KILL) | CAP(AUDIT_WRITE))
/* moby's TweakCapabilities: --cap-add ALL keeps all but the drops; else --cap-drop
 * ALL keeps the adds alone; else docker's set, less the drops, plus the adds. */
static unsigned long long caps_kept(unsigned long long add, unsigned long long drop)
{
	if (add & ALL_CAPS)
		return ~drop;
	if (drop & ALL_CAPS)
		return add;
	return (DOCKER_CAPS & ~drop) | add;
}

/* "+" stops at the first non-option, so the command keeps its own flags. */
static void parse_options(int argc, char **argv, struct container *c)
{
	static const struct option longopts[] = {
		{ "hostname", required_argument, NULL, 'n' },
		{ "rootfs", required_argument, NULL, 'r' },
		{ "chroot", no_argument, NULL, OPT_CHROOT },
		{ "net", required_argument, NULL, OPT_NET },
		{ "ip", required_argument, NULL, OPT_IP },
		{ "subnet", required_argument, NULL, OPT_SUBNET },
		{ "publish", required_argument, NULL, 'p' },
		{ "memory", required_argument, NULL, OPT_MEMORY },
		{ "pids", required_argument, NULL, OPT_PIDS },
		{ "cpus", required_argument, NULL, OPT_CPUS },
		{ "keep", required_argument, NULL, OPT_KEEP },
		{ "uptime", required_argument, NULL, OPT_UPTIME },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "cap-add", required_argument, NULL, OPT_CAP_ADD },
		{ "cap-drop", required_argument, NULL, OPT_CAP_DROP },
		{ "security-opt", required_argument, NULL, OPT_SECURITY_OPT },
		{ "userns-remap", required_argument, NULL, OPT_USERNS_REMAP },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static char *default_command[] = { "/bin/sh", NULL };
	unsigned long long add = 0, drop = 0, cap;
	char *end;
	long host;
	int opt;

	argv[0] = program_invocation_short_name; /* getopt's messages: "stageN: ..." */
	while ((opt = getopt_long(argc, argv, "+n:r:p:qh", longopts, NULL)) != -1) {
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
			host = strtol(optarg, &end, 10);
			if (end == optarg || *end != '\0' || host < 2 || host > 65534) {
				usage(stderr);
				exit(EXIT_STAGE_FAILED);
			}
			c->host = (int)host;
			break;
		case OPT_IP:
			if (inet_pton(AF_INET, optarg, &c->ip) != 1)
				goto bad;
			break;
		case OPT_SUBNET:
			if (parse_subnet(optarg, &c->subnet) < 0)
				goto bad;
			break;
		case 'p':
			if (c->port_count == (int)(sizeof(c->ports) / sizeof(c->ports[0])) ||
			    parse_port_map(optarg, &c->ports[c->port_count++]) < 0)
				goto bad;
			break;
		case OPT_MEMORY:
			c->memory = parse_size(optarg);
			if (c->memory < 0)
				goto bad;
			break;
		case OPT_PIDS:
			c->pids = strtol(optarg, &end, 10);
			if (end == optarg || *end != '\0' || c->pids < 1 || c->pids > INT_MAX)
				goto bad;
			break;
		case OPT_CPUS:
			c->cpu_quota = parse_cpus(optarg);
			if (c->cpu_quota < 0)
				goto bad;
			break;
		case OPT_KEEP:
			c->keep = optarg;
			break;
		case OPT_UPTIME:
			c->uptime = strtol(optarg, &end, 10);
			if (end == optarg || *end != '\0' || c->uptime < 0 || c->uptime > INT_MAX)
				goto bad;
			break;
		case OPT_NAME:
			c->name = optarg;
			if (!name_valid(c->name))
				goto bad;
			break;
		case OPT_CAP_ADD:
		case OPT_CAP_DROP:
			if (!(cap = cap_bit(optarg))) {
				warn("no capability is named %s: see capabilities(7)", optarg);
				exit(EXIT_STAGE_FAILED);
			}
			*(opt == OPT_CAP_ADD ? &add : &drop) |= cap;
			break;
		case OPT_SECURITY_OPT:
			if (strcmp(optarg, "seccomp=unconfined") != 0)
				goto bad;
			c->unconfined = 1;
			break;
		case OPT_USERNS_REMAP:
			if (parse_range(optarg, &c->uids) < 0)
				goto bad;
			c->gids = c->uids;
			c->remapped = 1;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
		bad:
			usage(stderr);
			exit(EXIT_STAGE_FAILED);
		}
	}
	/* exec NAME, after -q alone; "-- exec" is a command named exec. */
	if (optind < argc && strcmp(argv[optind], "exec") == 0 &&
	    strcmp(argv[optind - 1], "--") != 0) {
		if (optind != 1 + quiet || optind + 1 >= argc || !name_valid(argv[optind + 1])) {
			usage(stderr);
			exit(EXIT_STAGE_FAILED);
		}
		c->exec = argv[optind + 1];
		optind += 2 + (optind + 2 < argc && strcmp(argv[optind + 2], "--") == 0);
	}
	c->argv = optind < argc ? argv + optind : default_command;
	c->caps = caps_kept(add, drop);
}

/*
 * Is our root not our mount namespace's? The kernel refuses a user namespace
 * to such a process, root or not (user_namespaces(7)). A chroot into a
 * directory leaves no mount at "/" in our mountinfo, and a bare one has no
 * /proc at all. (A chroot onto a mount point of its own goes unseen.)
 */
static int in_chroot(void)
{
	char line[4096], point[4096];
	FILE *mounts = fopen("/proc/self/mountinfo", "re");
	int at_root = 0;

	if (!mounts)
		return errno == ENOENT;
	while (!at_root && fgets(line, sizeof(line), mounts))
		at_root = sscanf(line, "%*s %*s %*s %*s %4095s", point) == 1 &&
			  strcmp(point, "/") == 0;
	if (fclose(mounts) != 0)
		return 0;
	return !at_root;
}

/* A user namespace refused: which setting refuses it depends on the
 * distribution, and make doctor knows them all. The hint is worked out
 * before die_hint() reads errno, so it leaves errno as it found it. */
static const char *hint_for_userns(int err)
{
	const char *hint = NULL;

	if (err == ENOSPC)
		hint = "no more user namespaces allowed here: sudo make doctor says which setting";
	else if (err == EPERM && in_chroot())
		hint = "a user namespace cannot be made from inside a chroot";
	else if (err == EPERM)
		hint = "user namespaces are refused here: sudo make doctor says why";
	errno = err;
	return hint;
}

/* The rootfs beside the binary (where make rootfs puts it), else ./rootfs. */
static const char *default_rootfs(void)
{
	static char beside[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", beside, sizeof(beside) - sizeof("/rootfs"));

	if (n <= 0)
		return "rootfs";
	beside[n] = '\0';
	strcpy(strrchr(beside, '/'), "/rootfs");
	if (access(beside, F_OK) < 0 && access("rootfs", F_OK) == 0)
		return "rootfs";
	return beside;
}

/* Before anything is cloned or mounted: is there a rootfs at all? */
static void check_rootfs(const char *rootfs)
{
	if (access(rootfs, F_OK) < 0)
		die_hint(errno == ENOENT ? "run 'make rootfs' first" : NULL, "rootfs %s", rootfs);
	/* Root inside is us outside: a rootfs we cannot read, it cannot either. */
	if (faccessat(AT_FDCWD, rootfs, R_OK | X_OK, AT_EACCESS) < 0)
		die_hint("the container's root is you on the host, and you cannot read it",
			 "rootfs %s", rootfs);
}

/*
 * The child waits for the parent's "go". One byte means go. End of file means
 * the parent is gone - it died, or gave up after printing its own error -
 * and the child leaves without running anything: that is why the parent
 * writes a byte rather than closing its end, which would look the same.
 */
static void wait_for_parent(int go[2])
{
	struct pollfd parent = { .fd = go[0] };
	char byte;
	ssize_t n;

	/* Our copy of the write end would keep the pipe open forever. */
	if (close(go[1]) < 0)
		die("child: close the go pipe's write end");
	n = read(go[0], &byte, 1);
	if (n < 0)
		die("child: read the go pipe");
	if (n == 0)
		_exit(EXIT_STAGE_FAILED);
	/* Did it say go, then die before our PR_SET_PDEATHSIG took effect? The
	 * parent holds its write end open until it exits: a pipe with no writer
	 * left says so. (getppid() would tell only until stage 04: inside a PID
	 * namespace it is 0 either way.) */
	if (poll(&parent, 1, 0) < 0)
		die("child: poll the go pipe");
	if (parent.revents & POLLHUP)
		_exit(EXIT_STAGE_FAILED);
}

/* The parent keeps its read end open, so that a child already dead turns
 * this write into a byte nobody reads, not a SIGPIPE that kills the parent. */
static void release_child(int go[2])
{
	if (write(go[1], "g", 1) != 1)
		die("parent: write the go pipe");
}

/*
 * A terminal sends its input and its Ctrl-C to one process group, its
 * foreground job. The child is born in ours, whose id is a host pid and so
 * names nothing in its PID namespace: a shell as pid 1 that hands the
 * terminal back to it fails ("Cannot set tty process group") and exits 2.
 */
static int foreground_terminal(void)
{
	int tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);

	/* No controlling terminal (ENXIO), or we are not its foreground job. */
	if (tty < 0 || tcgetpgrp(tty) == getpgrp())
		return tty;
	if (close(tty) < 0)
		die("close /dev/tty");
	return -1;
}

/*
 * Last in the window, as a shell does for a job: a group of the child's own
 * (group 1 inside), and the terminal if we have it. From here on the stage is
 * in the background of its terminal, where a write to it (with stty tostop)
 * or taking it back would stop us with SIGTTOU, unless it is blocked.
 */
static void give_terminal(int tty, pid_t child)
{
	sigset_t ttou;

	sigemptyset(&ttou);
	sigaddset(&ttou, SIGTTOU);
	if (sigprocmask(SIG_BLOCK, &ttou, NULL) < 0)
		die("parent: block SIGTTOU");
	if (setpgid(child, child) < 0)
		die("parent: setpgid for the child");
	if (tty >= 0 && tcsetpgrp(tty, child) < 0)
		die("parent: give the child the terminal (tcsetpgrp)");
}

/* A terminal that hung up has no foreground left to give (ENOTTY). */
static void take_terminal_back(int tty)
{
	if (tty >= 0 && tcsetpgrp(tty, getpgrp()) < 0 && errno != ENOTTY)
		die("parent: take the terminal back (tcsetpgrp)");
}

/*
 * Before anything is mounted: every mount in our copy of the table becomes
 * private, recursively, so that nothing mounted here propagates to the
 * host - and nothing the host mounts later appears in here.
 */
static void make_mounts_private(void)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		die("child: make / private (mount MS_REC|MS_PRIVATE)");
}

/*
 * /etc/resolv.conf inside: the host's, less a nameserver on its loopback -
 * systemd-resolved's 127.0.0.53 is, inside, the container's own lo - and
 * then, as docker does, the servers systemd-resolved itself asks. Read in
 * the host's view of the files, before the overlay.
 */
static char resolv_conf[4096];

static void copy_host_resolv_conf(void)
{
	static const char *const paths[] = { "/etc/resolv.conf",
					     "/run/systemd/resolve/resolv.conf" };
	char line[256], address[64];
	int kept = 0, server;
	size_t used;
	FILE *file;

	for (int i = 0; i < 2 && !kept; i++) {
		file = fopen(paths[i], "re");
		if (!file && errno != ENOENT)
			die("child: read %s", paths[i]);
		if (!file)
			break;
		for (used = 0; fgets(line, sizeof(line), file);) {
			server = sscanf(line, " nameserver %63s", address) == 1;
			/* IPv6's too: the container has no way out for it */
			if (server && (strncmp(address, "127.", 4) == 0 || strchr(address, ':')))
				continue;
			if (used + strlen(line) < sizeof(resolv_conf)) {
				used += (size_t)sprintf(resolv_conf + used, "%s", line);
				kept += server;
			}
		}
		resolv_conf[used] = '\0';
		if (fclose(file) != 0)
			die("child: read %s", paths[i]);
	}
	if (!kept) {
		resolv_conf[0] = '\0'; /* the image's file, then, if it has one */
		say("child: no nameserver of the host's that the container can reach");
	}
}

/*
 * Into the upper layer itself, before the overlay is mounted on it: root
 * inside owns it, but not always the image's /etc (alice's, built without
 * sudo). What is there from a --keep - a file, a link, a whiteout - goes
 * first, and nothing is followed. The merged /etc is then upper's: 0755,
 * whatever the umask.
 */
static void write_resolv_conf(int upper)
{
	int etc, fd;
	ssize_t n;

	if (mkdirat(upper, "etc", 0755) == 0 ? fchmodat(upper, "etc", 0755, 0) < 0
					     : errno != EEXIST)
		die("child: make etc in the upper layer");
	etc = openat(upper, "etc", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (etc < 0 || (unlinkat(etc, "resolv.conf", 0) < 0 && errno != ENOENT))
		die("child: clear etc/resolv.conf in the upper layer");
	fd = openat(etc, "resolv.conf", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	n = fd < 0 || fchmod(fd, 0644) < 0 ? -1 : write(fd, resolv_conf, strlen(resolv_conf));
	if (fd < 0 || close(fd) < 0 || close(etc) < 0 || n < 0)
		die("child: write etc/resolv.conf in the upper layer");
}

/*
 * Born of the host's root, a process is still its kuid 0 under a map of 0 to
 * START: 65534 inside, root to the host's files. It becomes root inside,
 * START outside, without the host's groups (where setgroups() is denied,
 * stage 07's, it has only its own). That clears PR_SET_PDEATHSIG (prctl(2)):
 * set again, then the stage's life checked, as in wait_for_parent().
 */
static void become_root_inside(const char *who, int go)
{
	struct pollfd parent = { .fd = go };

	if ((setgroups(0, NULL) < 0 && errno != EPERM) || setresgid(0, 0, 0) < 0 ||
	    setresuid(0, 0, 0) < 0)
		die("%s: become root inside (setgroups, setresgid, setresuid)", who);
	if (go >= 0 && (exit_with_parent(), poll(&parent, 1, 0) < 0 || parent.revents & POLLHUP))
		_exit(EXIT_STAGE_FAILED);
}

/*
 * Under sudo the parent sends the image idmapped (its idmap_image()), or no
 * mount if the range owns it. The overlay takes no detached mount for a
 * layer (EPERM), so it goes on top of the image, in our mount namespace.
 */
static int image_from_parent(struct container *c)
{
	int tree = recv_fd(c->image[1]);

	if (tree < 0 && errno)
		die("child: receive the image from the parent");
	if (tree < 0)
		return open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (sys_move_mount(tree, "", AT_FDCWD, ".", MOVE_MOUNT_F_EMPTY_PATH) < 0)
		die("child: attach the idmapped image (move_mount)");
	say("child: the image is idmapped: what uid 0 owns there reads as root's here");
	return tree;
}

/*
 * Article 002's last point: containers on one rootfs write into the same
 * files. An overlay puts a writable upper layer over the read-only image: a
 * lookup finds the upper's file first, a write copies the image's file up
 * (built in the work directory, beside the upper), a deletion leaves a
 * whiteout. Upper and work go on a tmpfs at /tmp of our own mount namespace,
 * reached from no path on the host, and gone with the container even after
 * kill -9: its pages are memory, charged to its cgroup (stage 09). The image
 * goes by its descriptor, opened where the child was born (main() says why):
 * /tmp may hide it, and a comma or colon in its path would split the options.
 * The upper's mode is / inside: 0755, whatever the umask.
 */
static void enter_overlay(struct container *c)
{
	int image = c->ranged ? image_from_parent(c) : open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	int upper, work;
	char options[128];

	if (image < 0)
		die_hint(
			errno == EACCES
				? "under sudo, root inside is 'others' to another user's rootfs: chmod o+rx it"
				: NULL,
			"child: open the rootfs %s", c->rootfs);
	if (c->keep) {
		if (keep_enter(c->keep_fd, c->keep) < 0)
			die_hint(errno == EACCES ? "under sudo, root inside is one uid, START, and "
						   "passes only where others may: choose a DIR "
						   "such as /var/tmp/NAME"
						 : NULL,
				 "child: chdir into --keep %s", c->keep);
	} else if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=755") < 0 ||
		   chdir("/tmp") < 0 || mkdir("upper", 0755) < 0 || chmod("upper", 0755) < 0 ||
		   mkdir("work", 0755) < 0 || mkdir("merged", 0755) < 0) {
		die("child: make the upper layer on a tmpfs at /tmp");
	}
	/* The layers by descriptors too, a link in their place never followed.
	 * userxattr: the overlay's own notes (an opaque directory) go in
	 * user.overlay.* xattrs, which root in a user namespace may write. */
	upper = open("upper", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	work = open("work", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (upper < 0 || work < 0)
		die("child: open the upper and work layers");
	if (resolv_conf[0])
		write_resolv_conf(upper);
	snprintf(options, sizeof(options),
		 "lowerdir=/proc/self/fd/%d,upperdir=/proc/self/fd/%d,workdir=/proc/self/fd/%d,"
		 "userxattr",
		 image, upper, work);
	if (mount("overlay", "merged", "overlay", 0, options) < 0)
		die_hint(errno == ENODEV ? "no overlay in this kernel: sudo modprobe overlay"
					 : "the kernel refused it: sudo dmesg says why",
			 "child: mount the overlay");
	if (chdir("merged") < 0 || close(image) < 0 || close(upper) < 0 || close(work) < 0)
		die("child: leave the rootfs for the overlay");
}

/*
 * A /dev of the container's own: a small tmpfs holding the device nodes
 * programs expect, each a bind mount of the host's node. mknod() would make
 * the same nodes, but a user namespace (stage 07) may not call it; a bind
 * works in both. No disks, no /dev/mem, no /dev/kmsg: what is not there
 * cannot be opened.
 */
static void mount_dev(void)
{
	static const char *const nodes[] = { "/dev/null",   "/dev/zero",    "/dev/full",
					     "/dev/random", "/dev/urandom", "/dev/tty" };
	static const char *const links[][2] = {
		{ "dev/fd", "/proc/self/fd" },
		{ "dev/stdin", "/proc/self/fd/0" },
		{ "dev/stdout", "/proc/self/fd/1" },
		{ "dev/stderr", "/proc/self/fd/2" },
	};

	if (mount("tmpfs", "dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755,size=64k") < 0)
		die_hint(errno == ENOENT ? "the rootfs needs /dev, /proc and /sys directories"
					 : NULL,
			 "child: mount a tmpfs on the rootfs's /dev");
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		/* The host's /dev/null is bound onto dev/null, here in the rootfs. */
		const char *node = nodes[i], *here = node + 1;
		int fd = open(here, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);

		if (fd < 0 || close(fd) < 0)
			die("child: make %s to bind a device onto", here);
		if (mount(node, here, NULL, MS_BIND, NULL) < 0)
			die("child: bind %s into the rootfs", node);
	}
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		if (symlink(links[i][1], links[i][0]) < 0)
			die("child: symlink %s", links[i][0]);
}

/* A proc of our own on the rootfs's: it shows the PID namespace of the
 * process that mounts it, ours. Nothing on it is meant to be run. */
static void mount_proc(void)
{
	if (mount("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		die("child: mount proc on the rootfs's /proc");
}

/* A sysfs again, read-only: the kernel mounts one for whoever owns the
 * network namespace it shows, and the container now owns its own. */
static void mount_sys(void)
{
	if (mount("sysfs", "sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		die("child: mount sysfs on the rootfs's /sys");
}

/*
 * pivot_root(new_root, put_old) makes new_root the root of the mount
 * namespace and moves the old root to put_old. Called as pivot_root(".", ".")
 * from inside the rootfs, it stacks the old root on top of the new one, at
 * "/"; unmounting "." then takes the old root away - lazily (MNT_DETACH), as
 * the host's mounts are in use - and with it every path back to the host.
 * No directory for put_old is needed in the rootfs. (pivot_root(2), NOTES.)
 */
static void pivot_into_rootfs(void)
{
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		die("child: pivot_root");
	if (umount2(".", MNT_DETACH) < 0)
		die("child: detach the old root");
	if (chdir("/") < 0)
		die("child: chdir /");
}

/*
 * chroot() changes what "/" means to this process and its children, nothing
 * more: the mount namespace, and every mount in it, still hangs from the
 * host's root. We are in the rootfs already: chroot() leaves the working
 * directory where it was, which would otherwise be outside the new root.
 */
static void chroot_into_rootfs(void)
{
	if (chroot(".") < 0)
		die("child: chroot");
}

/*
 * What of /proc and /sys speaks for the whole machine, as docker leaves it
 * (moby's oci/defaults.go): its knobs read-only, a bind of each remounted so;
 * its secrets masked, /dev/null bound on a file, an empty read-only tmpfs on
 * a directory. A path this kernel lacks is skipped. Root inside may not undo
 * it: it keeps no CAP_SYS_ADMIN, and the filter refuses every mount call.
 */
static void protect_proc(void)
{
	static const char *const read_only[] = { "/proc/bus", "/proc/irq", "/proc/sys",
						 "/proc/sysrq-trigger" };
	static const char *const masked[] = { "/proc/kcore", "/proc/keys", "/proc/timer_list",
					      "/proc/sched_debug", "/sys/firmware" };
	const unsigned long locked = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
	struct stat st;

	for (size_t i = 0; i < sizeof(read_only) / sizeof(read_only[0]); i++) {
		const char *path = read_only[i];
		int bound = mount(path, path, NULL, MS_BIND | MS_REC, NULL);

		if ((bound < 0 && errno != ENOENT) ||
		    (bound == 0 &&
		     mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | locked, NULL) < 0))
			die("child: make %s read-only", path);
	}
	for (size_t i = 0; i < sizeof(masked) / sizeof(masked[0]); i++) {
		const char *path = masked[i];
		int found = stat(path, &st);

		if ((found < 0 && errno != ENOENT) ||
		    (found == 0 &&
		     (S_ISDIR(st.st_mode) ? mount("tmpfs", path, "tmpfs", locked, NULL)
					  : mount("/dev/null", path, NULL, MS_BIND, NULL)) < 0))
			die("child: mask %s", path);
	}
}

/*
 * Root's capabilities are its rights over the namespaces its user namespace
 * owns. At each exec the kernel gives root back every one of the bounding
 * and inheritable sets (capabilities(7), "root") unless no_new_privs holds
 * it to the permitted set: two locks, and docker sets only the first. So the
 * bounding set goes first, while we hold CAP_SETPCAP to drop from it; then
 * the ambient set; then capset() leaves the effective and permitted sets the
 * kept ones, the inheritable empty (runc's since CVE-2022-24769). The
 * kernel's last capability is where PR_CAPBSET_READ says EINVAL.
 */
static unsigned long long drop_capabilities(unsigned long long keep)
{
	struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
	unsigned long long known = 0;
	int cap;

	for (cap = 0; cap < 64 && prctl(PR_CAPBSET_READ, cap) >= 0; cap++) {
		known |= 1ULL << cap;
		if (!(keep & 1ULL << cap) && prctl(PR_CAPBSET_DROP, cap) < 0)
			die("child: drop capability %d from the bounding set", cap);
	}
	keep &= known;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		die("child: clear the ambient capabilities");
	struct __user_cap_data_struct sets[2] = {
		{ .effective = (__u32)keep, .permitted = (__u32)keep },
		{ .effective = (__u32)(keep >> 32), .permitted = (__u32)(keep >> 32) },
	};
	if (syscall(SYS_capset, &header, sets) < 0)
		die("child: capset");
	return keep;
}

/*
 * After the last mount, which needs CAP_SYS_ADMIN and the mount calls, and
 * before the exec: the capabilities; no_new_privs, so that no exec gives
 * back what was dropped (a set-user-ID file, file capabilities), and which
 * lets us install the filter with no CAP_SYS_ADMIN; the filter, last.
 */
static void confine(struct container *c)
{
	/* --chroot leaves the host's mounts below: a chroot() more is the way out (06) */
	c->caps = drop_capabilities(c->caps & ~(c->use_chroot ? CAP(SYS_CHROOT) : 0));
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		die("child: prctl(PR_SET_NO_NEW_PRIVS)");
	if (c->unconfined)
		say("child: capabilities %llx, no_new_privs, no seccomp filter", c->caps);
	else if (seccomp_install() < 0)
		die("child: install the seccomp filter");
	else
		say("child: capabilities %llx, no_new_privs, a seccomp filter of %d instructions",
		    c->caps, seccomp_program().len);
}

/* Its cgroups as it sees them, its leaf at the top: cgroup2 on the rootfs's
 * /sys/fs/cgroup, or on v1 a tmpfs there of hierarchies. The limits are above. */
static void mount_cgroup(struct container *c)
{
	const unsigned long flags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
	char point[64];

	if (c->cgroup_v2) {
		if (mount("cgroup2", "sys/fs/cgroup", "cgroup2", flags, NULL) < 0)
			die("child: mount cgroup2 on the rootfs's /sys/fs/cgroup");
		return;
	}
	if (mount("tmpfs", "sys/fs/cgroup", "tmpfs", flags & ~MS_RDONLY, "mode=755,size=16k") < 0)
		die("child: mount a tmpfs on the rootfs's /sys/fs/cgroup");
	for (int i = 0; i < CONTROLLERS; i++) {
		snprintf(point, sizeof(point), "sys/fs/cgroup/%s", controller_names[i]);
		if (!c->v1_hierarchy[i][0])
			continue;
		if (mkdir(point, 0755) < 0 ||
		    mount("cgroup", point, "cgroup", flags, c->v1_hierarchy[i]) < 0)
			die("child: mount the cgroup hierarchy on the rootfs's %s", point);
	}
}

/* Before clone(): /sys/fs/cgroup is itself cgroup2 (v2 only: Debian 11 and
 * Ubuntu 21.10 on), or a tmpfs of v1 hierarchies, as here. */
static void find_cgroup_layout(struct container *c)
{
	struct statfs fs;
	char own[PATH_MAX];

	if (statfs("/sys/fs/cgroup", &fs) < 0)
		die("statfs /sys/fs/cgroup");
	c->cgroup_v2 = fs.f_type == CGROUP2_SUPER_MAGIC;
	for (int i = 0; !c->cgroup_v2 && i < CONTROLLERS; i++)
		cg_own(controller_names[i], own, sizeof(own), c->v1_hierarchy[i],
		       sizeof(c->v1_hierarchy[i]));
}

/* The parent's last word on the cgroups: each one goes, once it is empty. */
static void remove_cgroups(void)
{
	for (int i = 0; i < CONTROLLERS; i++) {
		if (cgroup_dir[i][0] && cg_remove(cgroup_dir[i]) < 0)
			die("parent: remove the cgroup %s", cgroup_dir[i]);
		cgroup_dir[i][0] = '\0';
	}
}

/*
 * One lock over making, joining, leaving and removing the bridge. Without it,
 * a container leaving could count no port and delete the bridge just as one
 * starting made itself a port of it: that one would be cut off. It is a
 * flock() on a file only root may open, as iptables locks /run/xtables.lock:
 * no user can hold it against us, and the kernel drops it when we die, even
 * by -9. The file stays, empty: removing it would race with its waiters.
 */
static int lock_bridge(void)
{
	bridge_lock = open("/run/stage16.lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	return bridge_lock < 0 ? -1 : flock(bridge_lock, LOCK_EX);
}

/* The parent's last word on the network: the host end goes, and the pair
 * with it - at once, not at the kernel's teardown of the namespace. */
static void remove_host_end(void)
{
	int sock;

	if (!host_end)
		return;
	sock = nl_open();
	/* ENODEV: the kernel's own teardown of the namespace was first. */
	if (sock < 0 || (delete_link(sock, host_end) < 0 && errno != ENODEV) || close(sock) < 0)
		die("parent: delete the host end of the veth pair");
	host_end = 0;
}

/* Under the lock, our port goes; then the bridge, if it has no port left.
 * Our rules went first, with the socket they are owned by (nft.h). */
static void leave_bridge(void)
{
	int sock, ports;

	if (!bridge)
		return;
	if (nat >= 0 && close(nat) < 0)
		die("parent: close the nf_tables socket, and so delete our table");
	nat = -1;
	if (bridge_lock < 0 && lock_bridge() < 0)
		die("parent: lock the bridge");
	remove_host_end();
	sock = nl_open();
	ports = sock < 0 ? -1 : count_ports(sock, bridge);
	if (ports < 0 || (ports == 0 && remove_bridge(sock, bridge) < 0 && errno != ENODEV))
		die("parent: remove the bridge %s", BRIDGE_NAME);
	if (close(sock) < 0 || close(bridge_lock) < 0)
		die("parent: unlock the bridge");
	bridge = 0, bridge_lock = -1;
}

/*
 * The parent failed while the child waits for go - writing its maps here,
 * wiring its network in 08: kill and reap the child before saying why, so
 * that nothing of the container outlives the stage's error line.
 */
__attribute__((noreturn)) static void die_in_setup(pid_t child, const char *what, const char *hint)
{
	int err = errno;

	if (kill(child, SIGKILL) < 0 || waitpid(child, NULL, 0) < 0)
		die("parent: kill the waiting child");
	leave_bridge();
	remove_cgroups();
	errno = err;
	die_hint(hint, "%s", what);
}

/* The parent's writes into the child's /proc/PID/NAME: one write() each. */
static int write_proc_file(pid_t pid, const char *name, const char *text)
{
	char path[64];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%ld/%s", (long)pid, name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = write(fd, text, strlen(text));
	if (close(fd) < 0 || n < 0)
		return -1;
	return 0;
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

	if (write_proc_file(child, "setgroups", "deny") < 0)
		die_in_setup(child, "parent: write deny to setgroups", NULL);
	snprintf(map, sizeof(map), "0 %ld 1\n", (long)getegid());
	if (write_proc_file(child, "gid_map", map) < 0)
		die_in_setup(child, "parent: write gid_map", hint_for_userns(errno));
	snprintf(map, sizeof(map), "0 %ld 1\n", (long)geteuid());
	if (write_proc_file(child, "uid_map", map) < 0)
		die_in_setup(child, "parent: write uid_map", hint_for_userns(errno));
	say("parent: mapped root inside to uid %ld, gid %ld outside", (long)geteuid(),
	    (long)getegid());
}

/*
 * Under sudo, stage 07's map made root inside the host's uid 0 for whatever
 * file it reached - a descriptor, a --keep layer, a v1 cgroup file. Stage 15
 * took its capabilities, not its uid. A range makes it an id that owns
 * nothing, and every id an image uses exists (apt-get becomes _apt). Not the
 * caller's uid: root inside would own the caller's files. SUDO_USER's range,
 * as podman takes it (range.h), else the first block no one holds.
 */
static void choose_range(struct container *c)
{
	if (geteuid() != 0 && c->remapped) {
		errno = EPERM;
		die_hint("without sudo, podman asks newuidmap (uidmap's set-user-ID helper)",
			 "--userns-remap: only root may map a range");
	}
	c->ranged = geteuid() == 0;
	if (c->ranged && !c->remapped && sudo_user_range(&c->uids, &c->gids) < 0)
		die_hint("choose one with --userns-remap START:COUNT", "no block of %d ids is free",
			 RANGE_COUNT);
}

/* We hold CAP_SETUID and CAP_SETGID over the child's namespace, so the maps
 * may name any ids, and setgroups() stays allowed inside: apt-get calls it. */
static void map_root_to_range(struct container *c, pid_t child)
{
	char map[64];

	snprintf(map, sizeof(map), "0 %lu %lu\n", c->gids.start, c->gids.count);
	if (write_proc_file(child, "gid_map", map) < 0)
		die_in_setup(child, "parent: write gid_map", NULL);
	snprintf(map, sizeof(map), "0 %lu %lu\n", c->uids.start, c->uids.count);
	if (write_proc_file(child, "uid_map", map) < 0)
		die_in_setup(child, "parent: write uid_map", NULL);
	say("parent: root inside is uid %lu, gid %lu outside, of %lu ids", c->uids.start,
	    c->gids.start, c->uids.count);
}

/*
 * The image is the host root's, whom the range does not map: inside, its
 * files would be nobody's. Docker chowns a copy per range; an idmapped mount
 * (Linux 5.12) shows the image through the child's map: uid 0 on disk reads
 * as START, root inside. Only we may make one, the filesystem being the
 * host's, on a clone of the image's mount (open_tree). The overlay takes it
 * as the lower layer; the upper stays plain, so what root inside writes is
 * START's on the host. A copy already owned by START needs none of it.
 */
static void idmap_image(struct container *c, pid_t child)
{
	struct stage_mount_attr idmap = { .attr_set = MOUNT_ATTR_IDMAP };
	char path[64], hint[160];
	struct statfs fs;
	struct stat st;
	int tree = -1, userns, err;

	if (stat(".", &st) < 0)
		die_in_setup(child, "parent: stat the image", NULL);
	if (st.st_uid != c->uids.start) {
		snprintf(path, sizeof(path), "/proc/%ld/ns/user", (long)child);
		if ((userns = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			die_in_setup(child, "parent: open the child's user namespace", NULL);
		tree = sys_open_tree(AT_FDCWD, ".", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
		if (tree < 0)
			die_in_setup(child, "parent: clone the image's mount (open_tree)", NULL);
		idmap.userns_fd = (unsigned long long)userns;
		if (sys_mount_setattr(tree, "", AT_EMPTY_PATH, &idmap) < 0) {
			err = errno; /* the line says mount_setattr's, not statfs's */
			snprintf(hint, sizeof(hint),
				 "this kernel cannot idmap the image's filesystem, "
				 "%s: put the image on ext4, or use a copy chowned to %lu",
				 statfs(".", &fs) == 0 ? filesystem_name((long)fs.f_type)
						       : "unknown",
				 c->uids.start);
			errno = err;
			die_in_setup(child, "parent: idmap the image (mount_setattr)", hint);
		}
		close(userns);
	}
	if (send_fd(c->image[0], tree) < 0)
		die_in_setup(child, "parent: send the image to the child", NULL);
	if (tree >= 0)
		close(tree);
}

/* A limit's file is missing where its controller is not ours (cgroup.h,
 * cg_make()): the limit goes into UNSET, named. Swap's is missing too
 * where there is no swap accounting, and no swap to limit: no name. */
static char unset[32];
static int unless_missing(int written, const char *limit)
{
	if (written < 0 && errno == ENOENT && limit)
		snprintf(unset + strlen(unset), sizeof(unset) - strlen(unset), " %s", limit);
	return written < 0 && errno == ENOENT ? 0 : written;
}

/* The limits, v2 and v1 side by side, with docker's meanings: --memory SIZE
 * and as much swap again, --pids N tasks, --cpus F as F * CPU_PERIOD. */
static int write_limits(struct container *c)
{
	const char *v2 = cgroup_dir[0];

	if (c->cgroup_v2)
		return unless_missing(cg_write(v2, "memory.max", "%lld", c->memory), "memory") ||
		       unless_missing(cg_write(v2, "memory.swap.max", "%lld", c->memory), NULL) ||
		       unless_missing(cg_write(v2, "pids.max", "%ld", c->pids), "pids") ||
		       unless_missing(cg_write(v2, "cpu.max", "%ld %d", c->cpu_quota, CPU_PERIOD),
				      "cpu");
	return cg_write(cgroup_dir[MEMORY], "memory.limit_in_bytes", "%lld", c->memory) ||
	       unless_missing(cg_write(cgroup_dir[MEMORY], "memory.memsw.limit_in_bytes", "%lld",
				       2 * c->memory),
			      NULL) ||
	       cg_write(cgroup_dir[PIDS], "pids.max", "%ld", c->pids) ||
	       cg_write(cgroup_dir[CPU], "cpu.cfs_period_us", "%d", CPU_PERIOD) ||
	       cg_write(cgroup_dir[CPU], "cpu.cfs_quota_us", "%ld", c->cpu_quota);
}

/* A cgroup named for us in each hierarchy (v2: the one), the limits written
 * on it, then the child moved into its leaf below (cgroup.h): limited from
 * then on, its children born there. */
static void limit_child(struct container *c, pid_t child)
{
	int count = c->cgroup_v2 ? 1 : CONTROLLERS, made;

	for (int i = 0; i < count; i++) {
		made = cg_make(c->cgroup_v2 ? NULL : controller_names[i],
			       program_invocation_short_name, cgroup_dir[i], PATH_MAX);
		if (made == 0)
			continue;
		if (made < 0)
			die_in_setup(child, "parent: make the cgroup", NULL);
		remove_cgroups();
		warn("no cgroup here that uid %ld can write: the container runs without limits",
		     (long)geteuid());
		return;
	}
	if (write_limits(c) < 0)
		die_in_setup(child, "parent: write the cgroup's limits", NULL);
	if (unset[0])
		warn("no limit on%s: no such controller here is ours to use", unset);
	for (int i = 0; i < count; i++)
		if (cg_write(cgroup_dir[i], CG_LEAF "/cgroup.procs", "%ld", (long)child) < 0)
			die_in_setup(child, "parent: move the child into its cgroup", NULL);
	say("parent: cgroup %s (v%d): memory %lld bytes, %ld tasks, %ld us of CPU per %d",
	    cgroup_dir[0], c->cgroup_v2 ? 2 : 1, c->memory, c->pids, c->cpu_quota, CPU_PERIOD);
}

/* The pair, eth0 made in the child's namespace, and the host end named for
 * its address N: --ip's, --net's or the first free. No CAP_NET_ADMIN: -1. */
static int make_veth_pair(int sock, struct container *c, pid_t child, char name[IFNAMSIZ])
{
	int wanted = c->ip.s_addr ? host_number(c->subnet, c->ip) : c->host;

	if (wanted < -1 || wanted > last_host(c->subnet)) {
		errno = EINVAL;
		die_in_setup(child, "parent: --ip or --net", "not a container's address");
	}
	for (int n = wanted >= 0 ? wanted : 2; n <= last_host(c->subnet); n++) {
		snprintf(name, IFNAMSIZ, HOST_END_NAME, (unsigned short)n); /* n < 65535 */
		if (add_veth_pair(sock, name, "eth0", child) == 0)
			return n;
		if (errno == EPERM)
			return -1;
		if (errno != EEXIST || wanted >= 0)
			die_in_setup(child, "parent: make the veth pair",
				     errno == EEXIST ? "that address is in use" : NULL);
	}
	die_in_setup(child, "parent: make the veth pair", "every address is in use");
}

/* The kernel's errno for our table, and what to do about it. */
static const char *hint_for_nft(int err)
{
	const char *hint = NULL;

	if (err == ENOENT)
		hint = "the kernel lacks one: sudo modprobe nft_chain_nat nft_nat nft_masq nft_fib_ipv4";
	else if (err == EOPNOTSUPP || err == EPROTONOSUPPORT)
		hint = "no nf_tables here, or a kernel before 5.12, whose tables no socket owns";
	else if (err == EEXIST)
		hint = "a table of that name is left, not ours: sudo nft list tables";
	errno = err;
	return hint;
}

/*
 * Each -p port of the host is taken first, as docker-proxy takes it: bound,
 * and held until we end, so that no other container publishes it, and no
 * program of the host listens on it unseen. Then our table, in one batch.
 */
static void publish(struct container *c, pid_t child, int n)
{
	struct in_addr address = address_on(c->subnet, n);
	char table[sizeof("stage16-") + NAME_MAX_LEN];

	for (int i = 0; i < c->port_count; i++) {
		struct sockaddr_in any = { .sin_family = AF_INET,
					   .sin_port = htons(c->ports[i].host) };
		int tcp = c->ports[i].protocol == IPPROTO_TCP;
		int held = socket(AF_INET, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);

		if (held < 0 || bind(held, (struct sockaddr *)&any, sizeof(any)) < 0)
			die_in_setup(child, "parent: take the host's port for -p",
				     errno == EADDRINUSE ? "a program or a container has it"
							 : NULL);
	}
	snprintf(table, sizeof(table), "stage16-%s", c->name); /* its name's, free until we end */
	nat = nft_open();
	if (nat < 0 || add_nat_table(nat, table, BRIDGE_NAME, address, c->ports, c->port_count) < 0)
		die_in_setup(child, "parent: add our table of nf_tables rules",
			     hint_for_nft(errno));
	say("parent: table ip %s: the way out, and %d port%s in to %s", table, c->port_count,
	    c->port_count == 1 ? "" : "s", inet_ntoa(address));
}

/* Under the lock: bridge, pair, port; then the address, down the net pipe. */
static void wire_network(struct container *c, pid_t child)
{
	char name[IFNAMSIZ];
	int sock = nl_open();
	int n = -1, made = 0;

	if (sock < 0)
		die_in_setup(child, "parent: netlink socket", NULL);
	if (lock_bridge() < 0 && errno != EACCES) /* EACCES: not root, and so no bridge */
		die_in_setup(child, "parent: lock the bridge", NULL);
	bridge = bridge_lock < 0 ? 0 : find_bridge(sock, BRIDGE_NAME, &c->subnet, &made);
	if (!bridge && bridge_lock >= 0 && errno != EPERM)
		die_in_setup(child, "parent: find or make the bridge " BRIDGE_NAME,
			     errno == EEXIST ? "a route covers it, or the bridge's differs" : NULL);
	if (made)
		say("parent: made the bridge %s, gateway %s/%d, forwarding on", BRIDGE_NAME,
		    inet_ntoa(address_on(c->subnet, 1)), c->subnet.prefix);
	if (made && forwarded_traffic_dropped() == 1) /* mydocker #52, moby #39439 */
		warn("the host's firewall may drop what the containers send: a FORWARD chain "
		     "drops by policy (docker's, ufw's?); make doctor shows the fix");
	if (!bridge || (n = make_veth_pair(sock, c, child, name)) < 0) {
		bridge = 0; /* not ours to leave */
		/* Not an error, but not a progress line either: -q keeps it. */
		warn("no CAP_NET_ADMIN on the host, so no veth pair: lo only, no NAT, no -p");
	} else {
		host_end = if_nametoindex(name);
		if (!host_end)
			die_in_setup(child, "parent: find the host end", NULL);
		if (enslave(sock, host_end, bridge) < 0)
			die_in_setup(child, "parent: make the host end a port of the bridge", NULL);
		if (bring_up(sock, host_end) < 0)
			die_in_setup(child, "parent: bring the host end up", NULL);
		say("parent: veth pair %s <-> eth0, %s a port of %s", name, name, BRIDGE_NAME);
		publish(c, child, n);
	}
	if (close(sock) < 0 || (bridge_lock >= 0 && close(bridge_lock) < 0))
		die_in_setup(child, "parent: unlock the bridge", NULL);
	bridge_lock = -1;
	if (write(c->net[1], &c->subnet, sizeof(c->subnet)) != sizeof(c->subnet) ||
	    write(c->net[1], &n, sizeof(n)) != sizeof(n))
		die_in_setup(child, "parent: write the network config", NULL);
}

/* The child's side, after go: lo up, and eth0 if the parent made one - up,
 * with address N of the subnet, and the way out through the gateway. */
static void bring_up_network(struct container *c)
{
	struct subnet subnet;
	int n, sock, eth0;

	if (read(c->net[0], &subnet, sizeof(subnet)) != sizeof(subnet) ||
	    read(c->net[0], &n, sizeof(n)) != sizeof(n))
		die("child: read the network config");
	sock = nl_open();
	if (sock < 0)
		die("child: netlink socket");
	if (bring_up(sock, if_nametoindex("lo")) < 0)
		die("child: bring lo up");
	if (n < 0) {
		say("child: lo is up; no eth0");
	} else {
		eth0 = if_nametoindex("eth0");
		if (!eth0)
			die("child: find eth0");
		if (add_address(sock, eth0, address_on(subnet, n), subnet.prefix) < 0)
			die("child: address eth0");
		if (bring_up(sock, eth0) < 0)
			die("child: bring eth0 up");
		if (add_default_route(sock, eth0, address_on(subnet, 1)) < 0)
			die("child: add the default route");
		say("child: lo is up, eth0 is %s/%d, default route via the bridge's gateway",
		    inet_ntoa(address_on(subnet, n)), subnet.prefix);
		copy_host_resolv_conf();
	}
	if (close(sock) < 0)
		die("child: close the netlink socket");
}

/* The offsets of the time namespace we are in, in ns: a new one starts with
 * them, and those written replace them, each from the host's clock. Under
 * `unshare --time --boottime 86400` they are not 0. The file shows those of
 * time_for_children, which is ours until we unshare. */
static void offsets_here(long long *monotonic, long long *boottime)
{
	char line[64], *end;
	FILE *file = fopen("/proc/self/timens_offsets", "re");

	*monotonic = *boottime = 0;
	/* "boottime  86400  0": the clock, seconds, nanoseconds. */
	while (file && fgets(line, sizeof(line), file)) {
		long long *offset = strncmp(line, "boottime", 8) == 0 ? boottime : monotonic;
		long long sec = strtoll(line + strcspn(line, " "), &end, 10);

		*offset = sec * 1000000000LL + strtol(end, NULL, 10);
	}
	if (file && fclose(file) != 0)
		*monotonic = *boottime = 0;
}

/* One line of timens_offsets, "clock seconds nanoseconds" (0 to 1e9 - 1):
 * what takes the clock from the host's, HERE less than it reads now, to
 * uptime. */
static int offset_line(char *line, size_t size, clockid_t clock, long uptime, long long here)
{
	struct timespec now;
	long long offset;

	if (clock_gettime(clock, &now) < 0)
		return -1;
	offset = uptime * 1000000000LL - (now.tv_sec * 1000000000LL + now.tv_nsec) + here;
	/* Whole seconds rounded down, so that the nanoseconds are never negative. */
	return snprintf(line, size, "%d %lld %lld\n", clock,
			offset / 1000000000LL - (offset % 1000000000LL < 0),
			(offset % 1000000000LL + 1000000000LL) % 1000000000LL);
}

/*
 * The eighth namespace: CLOCK_MONOTONIC and CLOCK_BOOTTIME (which /proc/uptime
 * reads) run at offsets of its own; CLOCK_REALTIME, the wall clock, has none.
 * clone() cannot make one: CLONE_NEWTIME is 0x80, inside the low byte where
 * clone() takes the exit signal. unshare() makes it for our children only
 * (ns/time_for_children): we still read the host's clocks here, and the
 * offsets are the uptime wanted less those. They can be written until a
 * first process enters, never after (EACCES). Then we enter it ourselves:
 * from Linux 6.2 on an exec would, but on Debian 12's 6.1 only children do.
 * Made here, after the maps, it is the container's user namespace's, as the
 * others are, and root inside holds the CAP_SYS_TIME the offsets need.
 */
static void enter_time_namespace(long uptime)
{
	char offsets[96];
	long long monotonic, boottime;
	int fd, n;

	offsets_here(&monotonic, &boottime);
	if (unshare(CLONE_NEWTIME) < 0) {
		warn("no time namespace (unshare: %s): the container runs with the host's clocks",
		     strerror(errno));
		return;
	}
	n = offset_line(offsets, sizeof(offsets), CLOCK_MONOTONIC, uptime, monotonic);
	if (n < 0 ||
	    offset_line(offsets + n, sizeof(offsets) - n, CLOCK_BOOTTIME, uptime, boottime) < 0)
		die("child: clock_gettime");
	fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, offsets, strlen(offsets)) < 0 || close(fd) < 0)
		die("child: write /proc/self/timens_offsets");
	fd = open("/proc/self/ns/time_for_children", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWTIME) < 0 || close(fd) < 0)
		die("child: enter the time namespace (setns)");
	say("child: a time namespace of its own: uptime and the monotonic clock start at %ld s",
	    uptime);
}

/* The child: clone() starts it here, on the stack we gave it. */
static int container_main(void *arg)
{
	struct container *c = arg;

	exit_with_parent();
	wait_for_parent(c->go); /* returns only on "go": also proves it lives */
	say("child: the parent says go");
	/* Moved in already, the child makes its leaf the root of a cgroup
	 * namespace: /proc/self/cgroup inside says "/", and a cgroup filesystem
	 * mounted inside has it as its top, below the limits. Unshared before the
	 * move, the root would be where it was born, above them: /../stage9-N. */
	if (unshare(CLONE_NEWCGROUP) < 0)
		die("child: unshare(CLONE_NEWCGROUP)");
	enter_time_namespace(c->uptime);

	/* Only this namespace's copy of the name changes. */
	if (sethostname(c->hostname, strlen(c->hostname)) < 0)
		die_hint(errno == EINVAL ? "a hostname is at most 64 bytes"
					 : hint_for_userns(errno),
			 "child: sethostname");
	say("child: hostname is now '%s'", c->hostname);

	bring_up_network(c);

	/* After its last write to /proc/self, which a change of uid makes root's. */
	become_root_inside("child", c->go[0]);
	make_mounts_private();
	enter_overlay(c);
	mount_dev();
	mount_proc();
	mount_sys();
	mount_cgroup(c);
	say("child: mounted the overlay, then /dev, /proc, /sys and /sys/fs/cgroup in it");
	if (c->use_chroot)
		chroot_into_rootfs();
	else
		pivot_into_rootfs();
	say("child: / is now the overlay, by %s", c->use_chroot ? "chroot" : "pivot_root");
	protect_proc();

	say("child: I am pid %ld, uid %ld, running %s", (long)getpid(), (long)getuid(), c->argv[0]);
	confine(c);
	exec_command(c->argv);
}

/*
 * Into its cgroup too, or the command escapes its limits: in each hierarchy,
 * the stage's leaf its first process is in (or below: root inside may move
 * it), by the host's path, before the mount namespace. The leaf's
 * cgroup.procs is opened now, the child written in once forked; we stay
 * out, as runc does. A container of no cgroup of its own (a user's) has none.
 */
static void open_cgroup(struct container *c, int proc, pid_t stage, int procs[CONTROLLERS])
{
	char mount[64], leaf[64];

	snprintf(leaf, sizeof(leaf), "/%s-%ld/" CG_LEAF, program_invocation_short_name,
		 (long)stage);
	for (int i = 0; i < CONTROLLERS; i++) {
		snprintf(mount, sizeof(mount), "/sys/fs/cgroup%s%s", c->cgroup_v2 ? "" : "/",
			 c->cgroup_v2 ? "" : controller_names[i]);
		procs[i] = -1;
		if ((i == 0 || !c->cgroup_v2) &&
		    (procs[i] = join_cgroup_procs(
			     proc, mount, c->cgroup_v2 ? "" : c->v1_hierarchy[i], leaf)) < 0 &&
		    errno != ENOENT)
			die_hint(name_hint(ESRCH, errno), "exec: open %s's cgroup", c->exec);
	}
}

/*
 * setns() joins one namespace a call, by a descriptor. All are opened first,
 * from its directory in the host's /proc: in its mount namespace, /proc is
 * its own, where that pid is another process, or none. The user namespace
 * goes first: it owns the others, and only as its root may a user join
 * them (were they owned by one we have more rights in, it would go last,
 * as nsenter does then). One that is ours already is left alone. The mount
 * namespace puts us at its root, not the container's under --chroot: that
 * goes by descriptor too. The PID namespace takes in our children only.
 */
static void join_namespaces(struct container *c, int proc)
{
	static const char *const kinds[] = { "user", "cgroup", "ipc",  "uts",
					     "net",  "pid",    "time", "mnt" };
	enum { KINDS = sizeof(kinds) / sizeof(kinds[0]) };
	int ns[KINDS], same[KINDS], root;

	for (int i = 0; i < KINDS; i++)
		if ((ns[i] = join_namespace(proc, kinds[i], &same[i])) < 0 && !same[i])
			die_hint(name_hint(ESRCH, errno), "exec: open %s's %s namespace", c->exec,
				 kinds[i]);
	root = openat(proc, "root", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		die_hint(name_hint(ESRCH, errno), "exec: open %s's root", c->exec);
	for (int i = 0; i < KINDS; i++) {
		if (!same[i] && setns(ns[i], 0) < 0)
			die_hint(i == 0 ? hint_for_userns(errno) : NULL,
				 "exec: join %s's %s namespace (setns)", c->exec, kinds[i]);
		if (ns[i] >= 0 && close(ns[i]) < 0)
			die("exec: close the %s namespace", kinds[i]);
	}
	if (fchdir(root) < 0 || chroot(".") < 0 || chdir("/") < 0 || close(root) < 0)
		die("exec: go to %s's root", c->exec);
	say("exec: joined %s's namespaces; / is its root", c->exec);
}

/*
 * exec confines the command as the container's first process is: its
 * bounding set, and the filter unless it has none. Read from the host's
 * /proc before we join: root inside may narrow them, never widen them.
 */
static void read_confinement(struct container *c, int proc)
{
	char status[4096], *caps, *seccomp;
	int fd = openat(proc, "status", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, status, sizeof(status) - 1);

	if (n < 0 || close(fd) < 0)
		die_hint(name_hint(ESRCH, errno), "exec: read %s's status", c->exec);
	status[n] = '\0';
	caps = strstr(status, "\nCapBnd:");
	seccomp = strstr(status, "\nSeccomp:");
	errno = ENODATA; /* what die_hint() says if either is missing */
	if (!caps || !seccomp)
		die_hint("a kernel before 3.8", "exec: read %s's CapBnd and Seccomp", c->exec);
	c->caps = strtoull(caps + strlen("\nCapBnd:"), NULL, 16);
	c->unconfined = strtol(seccomp + strlen("\nSeccomp:"), NULL, 10) != SECCOMP_MODE_FILTER;
}

/*
 * exec NAME: from a sealed copy of us (join.h), not dumpable until the
 * command's exec: once in its user namespace, our memory, descriptors and
 * binary are otherwise root inside's to reach (runc's CVE-2016-9962 and
 * CVE-2019-5736). Then find it, join it, fork: the child is born in its
 * PID namespace and runs the command; we pass signals on, as for a run.
 */
static int exec_in_container(struct container *c, char **argv)
{
	pid_t first, stage, child;
	int proc, procs[CONTROLLERS], status;

	if (join_from_sealed_copy(argv) < 0)
		die("exec: run from a sealed copy of %s", argv[0]);
	if (prctl(PR_SET_DUMPABLE, 0) < 0)
		die("exec: prctl(PR_SET_DUMPABLE)");
	c->tty = foreground_terminal();
	find_cgroup_layout(c);
	proc = name_find(program_invocation_short_name, c->exec, &first, &stage);
	if (proc < 0)
		die_hint(name_hint(errno, errno), "exec: find the container %s", c->exec);
	say("exec: %s's first process is pid %ld", c->exec, (long)first);
	open_cgroup(c, proc, stage, procs);
	read_confinement(c, proc);
	join_namespaces(c, proc);
	become_root_inside("exec", -1);
	if (close(proc) < 0)
		die("exec: close %s's /proc directory", c->exec);
	if (pipe2(c->go, O_CLOEXEC) < 0)
		die("exec: pipe for the go signal");
	block_forwarded_signals();
	child = fork();
	if (child < 0)
		die_hint(errno == ENOMEM ? "it ended: its PID namespace takes no one" : NULL,
			 "exec: fork into %s's PID namespace", c->exec);
	if (child == 0) {
		exit_with_parent();
		wait_for_parent(c->go);
		say("child: I am pid %ld in %s, running %s", (long)getpid(), c->exec, c->argv[0]);
		confine(c);
		exec_command(c->argv);
	}
	for (int i = 0; i < CONTROLLERS; i++) /* one short write: cgroupfs takes it whole */
		if (procs[i] >= 0 &&
		    (dprintf(procs[i], "%ld", (long)child) < 0 || close(procs[i]) < 0))
			die_in_setup(child, "exec: move the child into the container's cgroup",
				     name_hint(ESRCH, errno));
	give_terminal(c->tty, child);
	release_child(c->go);
	status = wait_for_container(child);
	take_terminal_back(c->tty);
	return status;
}

/* The child's copy of the go pipe's read end closes at its exec, or death;
 * with ours closed too, the write end reports POLLERR. Until then it sets
 * up - its root not yet the rootfs - and is not one for exec to join. */
static void wait_for_exec(pid_t child, int go[2], int name)
{
	struct pollfd exec = { .fd = go[1] };

	if (close(go[0]) < 0 || poll(&exec, 1, -1) < 0)
		die_in_setup(child, "parent: wait for the child's exec", NULL);
	if (name_ready(name) < 0)
		die_in_setup(child, "parent: listen on the container's name", NULL);
}

/* The name exec finds the container by (name.h): --name, else -n's
 * hostname if no other container has it; else one made of our pid. */
static int claim_name(struct container *c)
{
	int sock, from_hostname = !c->name && strcmp(c->hostname, "container") != 0 &&
				  name_valid(c->hostname);

	if (from_hostname)
		c->name = c->hostname;
	sock = name_claim(program_invocation_short_name, &c->name);
	if (sock < 0 && errno == EADDRINUSE && from_hostname) {
		c->name = NULL; /* -n is a hostname first: two may share it */
		sock = name_claim(program_invocation_short_name, &c->name);
	}
	if (sock < 0)
		die_hint(errno == EADDRINUSE ? "that name is in use" : NULL,
			 "name the container %s", c->name);
	say("parent: named the container %s: '%s exec %s' joins it", c->name,
	    program_invocation_short_name, c->name);
	return sock;
}

/* The parent: make the child, then wait for it. */
int main(int argc, char **argv)
{
	struct container c = { .hostname = "container",
			       .host = -1,
			       .memory = 256LL << 20,
			       .pids = 64,
			       .cpu_quota = CPU_PERIOD };
	pid_t child;
	int status, name;

	parse_options(argc, argv, &c);
	keep_only_std_fds();
	if (c.exec)
		return exec_in_container(&c, argv);
	if (!c.rootfs)
		c.rootfs = default_rootfs();
	check_rootfs(c.rootfs);
	choose_range(&c);
	if (c.ranged)
		keep_owner(c.uids.start, c.gids.start);
	if (c.keep && (c.keep_fd = keep_open(c.keep)) < 0)
		die_hint(keep_hint(errno), "--keep %s", c.keep);
	/* The child starts in the rootfs (below): DIR it needs by its whole path. */
	if (c.keep && !(c.keep = realpath(c.keep, NULL)))
		die("--keep: realpath");
	c.tty = foreground_terminal();
	if (pipe2(c.go, O_CLOEXEC) < 0)
		die("pipe for the go signal");
	if (pipe2(c.net, O_CLOEXEC) < 0)
		die("pipe for the network config");
	find_cgroup_layout(&c);
	if (c.ranged && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, c.image) < 0)
		die("socketpair for the image");
	name = claim_name(&c);
	block_forwarded_signals();
	/*
	 * Under sudo, root inside is one uid outside, with no say over files whose
	 * owner it does not map: it may not pass alice's home (0750) on its way
	 * to the rootfs, though we may. So we step in now: the child gets our
	 * working directory, and CLONE_NEWNS carries it to the same place in the
	 * child's copy of the mounts. It never walks the path (docs/07).
	 */
	if (chdir(c.rootfs) < 0)
		die("chdir into the rootfs %s", c.rootfs);

	/*
	 * The child starts in container_main(), on the stack we pass by its top.
	 * The low byte of the flags is the signal its end sends us: SIGCHLD
	 * makes it an ordinary child to waitpid(). The other flags say what the
	 * child gets afresh instead of sharing ours:
	 *   CLONE_NEWUTS   a UTS namespace, a copy of ours: the hostname
	 *   CLONE_NEWIPC   an IPC namespace, which starts empty
	 *   CLONE_NEWPID   a PID namespace, whose pid 1 the child is
	 *   CLONE_NEWNS    a mount namespace: a copy of our mount table
	 *   CLONE_NEWUSER  a user namespace, made first, which owns the others
	 *   CLONE_NEWNET   a network stack of its own, with only a loopback, down
	 * Not CLONE_NEWCGROUP: the child unshares that once it is in its cgroup.
	 * Nor CLONE_NEWTIME, which clone() would take for an exit signal.
	 */
	child = clone(container_main, child_stack_top(),
		      CLONE_NEWUSER | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID | CLONE_NEWNS |
			      CLONE_NEWNET | SIGCHLD,
		      &c);
	if (child < 0)
		die_hint(hint_for_userns(errno), "clone");
	say("parent: cloned child %ld into new user, UTS, IPC, PID, mount and network namespaces",
	    (long)child);

	/* The child is waiting: here the parent sets up what the child needs
	 * from outside (stages 07 and 08 add to it), and gives it the terminal
	 * last. */
	if (c.ranged) {
		map_root_to_range(&c, child);
		idmap_image(&c, child);
	} else {
		map_root_to_caller(child);
	}
	limit_child(&c, child);
	wire_network(&c, child);
	say("parent: setup done, telling the child to go");
	give_terminal(c.tty, child);
	release_child(c.go);
	wait_for_exec(child, c.go, name);

	status = wait_for_container(child);
	leave_bridge();
	remove_cgroups();
	take_terminal_back(c.tty);
	return status;
}
