/*
 * Stage 07: the user namespace - a container without sudo. CLONE_NEWUSER
 * gives the child a user namespace of its own, which owns every other
 * namespace it gets: there it has every capability, over what those hold
 * and nothing else. Who it is on the host the parent decides, writing its
 * uid and gid maps while it waits on the go pipe: root inside is the user
 * who ran the stage, and no one else. No sysfs until stage 08: the kernel
 * mounts one only for the owner of the network namespace it shows.
 *
 * Mirrors: 001_0455fe89acfab686.txt, "5.User namespace" - done as the kernel
 *          requires today (setgroups, one line per map, written by the
 *          parent before the child goes on).
 *
 *   ./stage7 [-q] [-n NAME] [-r DIR] [--chroot] [--] [command [args...]]
 */
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "../stage.h"

struct container {
	char **argv; /* the command to run, NULL-terminated */
	const char *hostname;
	const char *rootfs;
	int use_chroot; /* --chroot: chroot() instead of pivot_root() */
	int go[2]; /* parent -> child: "setup is done, go on" */
	int tty; /* our terminal, if we are its foreground job; else -1 */
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
 * The new root must be a mount point for pivot_root(); the rootfs is a
 * directory, so mount it on itself, then go onto it. We stand in it already
 * (main() says why): "." onto ".". But "." still names the directory under
 * the new mount - a path steps onto a mount only on its way in - so "dev/.."
 * goes back up onto it: dev, which every rootfs has for mount_dev(). Unless
 * the image made dev a link, to lead us anywhere: so it must be the same
 * directory again. From here on the child
 * reaches the rootfs by relative paths (dev, proc) and the host by absolute
 * ones (/dev/null), until the switch. chroot() needs no mount point, but the
 * same steps for both keep the comparison to the one call that differs.
 */
static void enter_rootfs(const char *rootfs)
{
	struct stat under, over;

	if (stat(".", &under) < 0 || mount(".", ".", NULL, MS_BIND | MS_REC, NULL) < 0)
		die_hint(
			errno == EACCES
				? "under sudo, root inside is 'others' to another user's rootfs: chmod o+rx it"
				: NULL,
			"child: bind the rootfs %s onto itself", rootfs);
	if (chdir("dev/..") < 0 || stat(".", &over) < 0)
		die_hint(errno == ENOENT ? "the rootfs needs /dev, /proc and /sys directories"
					 : NULL,
			 "child: step onto the rootfs's new mount (chdir dev/..)");
	if (over.st_dev != under.st_dev || over.st_ino != under.st_ino) {
		errno = ELOOP;
		die_hint("its dev must be a directory, not a link", "child: chdir dev/.. in %s",
			 rootfs);
	}
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
 * The parent failed while the child waits for go - writing its maps here,
 * wiring its network in 08: kill and reap the child before saying why, so
 * that nothing of the container outlives the stage's error line.
 */
__attribute__((noreturn)) static void die_in_setup(pid_t child, const char *what, const char *hint)
{
	int err = errno;

	if (kill(child, SIGKILL) < 0 || waitpid(child, NULL, 0) < 0)
		die("parent: kill the waiting child");
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

/* The child: clone() starts it here, on the stack we gave it. */
static int container_main(void *arg)
{
	struct container *c = arg;

	exit_with_parent();
	wait_for_parent(c->go); /* returns only on "go": also proves it lives */
	say("child: the parent says go");

	/* Only this namespace's copy of the name changes. */
	if (sethostname(c->hostname, strlen(c->hostname)) < 0)
		die_hint(errno == EINVAL ? "a hostname is at most 64 bytes"
					 : hint_for_userns(errno),
			 "child: sethostname");
	say("child: hostname is now '%s'", c->hostname);

	make_mounts_private();
	enter_rootfs(c->rootfs);
	mount_dev();
	mount_proc();
	say("child: mounted /dev and /proc in %s", c->rootfs);
	if (c->use_chroot)
		chroot_into_rootfs();
	else
		pivot_into_rootfs();
	say("child: / is now %s, by %s", c->rootfs, c->use_chroot ? "chroot" : "pivot_root");

	say("child: I am pid %ld, uid %ld, running %s", (long)getpid(), (long)getuid(), c->argv[0]);
	exec_command(c->argv);
}

/* The parent: make the child, then wait for it. */
int main(int argc, char **argv)
{
	struct container c = { .hostname = "container" };
	pid_t child;
	int status;

	parse_options(argc, argv, &c);
	keep_only_std_fds();
	if (!c.rootfs)
		c.rootfs = default_rootfs();
	check_rootfs(c.rootfs);
	c.tty = foreground_terminal();
	if (pipe2(c.go, O_CLOEXEC) < 0)
		die("pipe for the go signal");
	block_forwarded_signals();
	/*
	 * Under sudo, root inside is uid 0 alone, with no say over files whose
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
	 */
	child = clone(container_main, child_stack_top(),
		      CLONE_NEWUSER | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID | CLONE_NEWNS |
			      SIGCHLD,
		      &c);
	if (child < 0)
		die_hint(hint_for_userns(errno), "clone");
	say("parent: cloned child %ld into new user, UTS, IPC, PID and mount namespaces",
	    (long)child);

	/* The child is waiting: here the parent sets up what the child needs
	 * from outside (stages 07 and 08 add to it), and gives it the terminal
	 * last. */
	map_root_to_caller(child);
	say("parent: setup done, telling the child to go");
	give_terminal(c.tty, child);
	release_child(c.go);

	status = wait_for_container(child);
	take_terminal_back(c.tty);
	return status;
}
