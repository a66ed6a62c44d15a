/*
 * Stage 06: a root filesystem of the container's own. The child mounts all
 * that the new root needs - a /dev with a handful of devices, its proc, a
 * read-only sysfs - into the rootfs while the host's files are still in
 * reach, then switches to it.
 *
 * Two ways to switch, so that a reader can compare them:
 *   pivot_root (the default) moves the mount namespace's root to the rootfs
 *     and detaches the old one: nothing of the host stays reachable, by any
 *     path, from inside.
 *   chroot (--chroot) changes only this process's idea of "/". The mount
 *     namespace's root is still the host's: nsenter -m shows it, and a root
 *     process inside can walk back out.
 *
 * Mirrors: 002_3f00327342ed305d.txt, "为程序重新挂载根文件系统" ("chroot 替换方式",
 *          "pivot_root 替换方式") and "为程序挂载proc文件系统";
 *          001_0455fe89acfab686.txt, "4.CLONE_NEWNS" (the rootfs and chroot);
 *          000_d260b8d78a5843ef.txt, the set_rootdir() step.
 *
 *   sudo ./stage6 [-q] [-n NAME] [-r DIR] [--chroot] [--] [command [args...]]
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
		"Run command (default /bin/sh) as pid 1 in new UTS, IPC, PID and mount namespaces,\n"
		"with DIR as its root filesystem.\n"
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

/* Read-only: the container may look at its devices and network there,
 * not reconfigure the host's. */
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
		    errno == EINVAL ? "a hostname is at most 64 bytes" : NULL);
	say("child: hostname is now '%s'", c->hostname);

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

	say("child: I am pid %ld, running %s", (long)getpid(), c->argv[0]);
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
	 * own, a copy of ours. */
	child = clone(container_main, child_stack_top(),
		      CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID | CLONE_NEWNS | SIGCHLD, &c);
	if (child < 0)
		die("clone", hint_for_clone(errno));
	say("parent: cloned child %ld into new UTS, IPC, PID and mount namespaces", (long)child);

	/* The child is waiting: here the parent sets up what the child needs
	 * from outside. Nothing yet; stages 07 and 08 fill this window. */
	say("parent: setup done, telling the child to go");
	release_child(c.go);

	report_exec_failure(c.exec_report, c.argv[0]);
	return wait_for_container(child);
}
