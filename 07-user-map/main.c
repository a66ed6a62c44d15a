/*
 * Stage 07: the user namespace - a container without sudo. CLONE_NEWUSER
 * gives the child a user namespace of its own, and every other namespace it
 * gets is owned by that one: there the child has every capability, so it
 * can set a hostname, mount, pivot_root - over what its namespaces hold, and
 * nothing else. Who it is on the host is decided by the parent, which writes
 * the child's uid and gid maps while the child waits on the stage-03 pipe:
 * root inside is the user who ran the stage outside, and no one else.
 *
 * What changes besides: the maps need setgroups denied first; a new sysfs
 * needs a network namespace of the user's own, so /sys stays empty until
 * stage 08; proc is mounted while the host's is still visible, before the
 * old root goes (stage 06's order), as the kernel requires in a user
 * namespace.
 *
 * Mirrors: 001_0455fe89acfab686.txt, "5.User namespace" - done as the kernel
 *          requires today (setgroups, one line per map, written by the
 *          parent before the child goes on).
 *
 *   ./stage7 [-q] [-n NAME] [-r DIR] [--chroot] [--] [command [args...]]
 */
#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/syscall.h>

#include "../stage.h"

struct container {
	char **argv; /* the command to run, NULL-terminated */
	const char *hostname;
	const char *rootfs;
	int use_chroot;     /* --chroot: chroot() instead of pivot_root() */
	int go[2];          /* parent -> child: "setup is done, go on" */
	int exec_report[2]; /* child -> parent: why exec failed, if it did */
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: %s [-q] [-n NAME] [-r DIR] [--chroot] [--] [command [args...]]\n"
		"Run command (default /bin/sh) as root and pid 1 in new user, UTS, IPC, PID and\n"
		"mount namespaces, with DIR as its root filesystem. Needs no sudo: root inside\n"
		"is the caller outside.\n"
		"  -n, --hostname NAME   hostname inside (default: container)\n"
		"  -r, --rootfs DIR      the root filesystem (default: rootfs beside the\n"
		"                        binary, else ./rootfs; make rootfs builds one)\n"
		"      --chroot          switch with chroot() instead of pivot_root()\n"
		"  -q, --quiet           no progress lines on stderr\n"
		"  -h, --help            show this help\n",
		program_invocation_short_name);
}

enum { OPT_CHROOT = 256 }; /* a long option only: no letter */

/* "+" stops at the first non-option, so the command keeps its own flags. */
static void parse_options(int argc, char **argv, struct container *c)
{
	static const struct option longopts[] = {
		{ "hostname", required_argument, NULL, 'n' },
		{ "rootfs", required_argument, NULL, 'r' },
		{ "chroot", no_argument, NULL, OPT_CHROOT },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static char *default_command[] = { "/bin/sh", NULL };
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

	make_mounts_private();
	make_rootfs_a_mount(c->rootfs);
	mount_dev(c->rootfs);
	mount_proc(c->rootfs);
	say("child: mounted /dev and /proc in %s", c->rootfs);
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
	struct container c = { .hostname = "container" };
	pid_t child;

	parse_options(argc, argv, &c);
	keep_only_std_fds();
	if (!c.rootfs)
		c.rootfs = default_rootfs();
	check_rootfs(c.rootfs, c.argv[0]);
	check_rootfs_readable(c.rootfs);
	check_terminal();
	make_pipe(c.go, "pipe for the go signal");
	make_pipe(c.exec_report, "pipe for the exec report");
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
	 * first, which owns all the others. */
	child = clone(container_main, child_stack_top(),
		      CLONE_NEWUSER | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID | CLONE_NEWNS |
			      SIGCHLD,
		      &c);
	if (child < 0)
		die("clone", hint_for_userns(errno));
	say("parent: cloned child %ld into new user, UTS, IPC, PID and mount namespaces",
	    (long)child);

	/* The child is waiting: here the parent sets up what the child needs
	 * from outside - its maps. Stage 08 adds its network. */
	map_root_to_caller(child);
	say("parent: setup done, telling the child to go");
	release_child(c.go);

	report_exec_failure(c.exec_report, c.argv[0]);
	return wait_for_container(child);
}
