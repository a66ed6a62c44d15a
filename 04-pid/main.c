/*
 * Stage 04: the PID namespace - CLONE_NEWPID makes the child process 1 of a
 * new numbering. From outside it keeps its ordinary pid; inside, getpid()
 * is 1 and it is the namespace's init: orphans are reparented to it, the
 * kernel delivers it only the signals it has a handler for (SIGKILL and
 * SIGSTOP from outside excepted), and when it exits every other process in
 * the namespace is killed. And the child's process group, named by a host
 * pid, is nothing inside: the parent gives it a group of its own, and the
 * terminal, as a shell does for a job.
 *
 * Mirrors: 001_0455fe89acfab686.txt, "3. PID namespace";
 *          000_d260b8d78a5843ef.txt, "使容器具备自己的进程系统" (up to the
 *          proc mount, which is stage 05's).
 *
 *   sudo ./stage4 [-q] [-n NAME] [--] [command [args...]]
 */
#include <getopt.h>
#include <poll.h>
#include <sched.h>

#include "../stage.h"

struct container {
	char **argv; /* the command to run, NULL-terminated */
	const char *hostname;
	int go[2]; /* parent -> child: "setup is done, go on" */
	int tty; /* our terminal, if we are its foreground job; else -1 */
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: %s [-q] [-n NAME] [--] [command [args...]]\n"
		"Run command (default /bin/sh) as pid 1 in new UTS, IPC and PID namespaces.\n"
		"  -n, --hostname NAME   hostname inside (default: container)\n"
		"  -q, --quiet           no progress lines on stderr\n"
		"  -h, --help            show this help\n",
		program_invocation_short_name);
}

/* "+" stops at the first non-option, so the command keeps its own flags. */
static void parse_options(int argc, char **argv, struct container *c)
{
	static const struct option longopts[] = {
		{ "hostname", required_argument, NULL, 'n' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static char *default_command[] = { "/bin/sh", NULL };
	int opt;

	argv[0] = program_invocation_short_name; /* getopt's messages: "stageN: ..." */
	while ((opt = getopt_long(argc, argv, "+n:qh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			c->hostname = optarg;
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

/* The failure every newcomer meets first: a new namespace needs CAP_SYS_ADMIN. */
static const char *hint_for_clone(int err)
{
	if (err != EPERM)
		return NULL;
	/* Root without it is in a container already, most likely. */
	return geteuid() == 0 ? "root here lacks CAP_SYS_ADMIN: is this a container already?"
			      : "run it with sudo";
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

/* The child: clone() starts it here, on the stack we gave it. */
static int container_main(void *arg)
{
	struct container *c = arg;

	exit_with_parent();
	wait_for_parent(c->go); /* returns only on "go": also proves it lives */
	say("child: the parent says go");

	/* Only this namespace's copy of the name changes. */
	if (sethostname(c->hostname, strlen(c->hostname)) < 0)
		die_hint(errno == EINVAL ? "a hostname is at most 64 bytes" : NULL,
			 "child: sethostname");
	say("child: hostname is now '%s'", c->hostname);

	say("child: I am pid %ld, running %s", (long)getpid(), c->argv[0]);
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
	c.tty = foreground_terminal();
	if (pipe2(c.go, O_CLOEXEC) < 0)
		die("pipe for the go signal");
	block_forwarded_signals();

	/*
	 * The child starts in container_main(), on the stack we pass by its top.
	 * The low byte of the flags is the signal its end sends us: SIGCHLD
	 * makes it an ordinary child to waitpid(). The other flags say what the
	 * child gets afresh instead of sharing ours:
	 *   CLONE_NEWUTS   a UTS namespace, a copy of ours: the hostname
	 *   CLONE_NEWIPC   an IPC namespace, which starts empty
	 *   CLONE_NEWPID   a PID namespace, whose pid 1 the child is
	 */
	child = clone(container_main, child_stack_top(),
		      CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID | SIGCHLD, &c);
	if (child < 0)
		die_hint(hint_for_clone(errno), "clone");
	say("parent: cloned child %ld into new UTS, IPC and PID namespaces", (long)child);

	/* The child is waiting: here the parent sets up what the child needs
	 * from outside (stages 07 and 08 add to it), and gives it the terminal
	 * last. */
	say("parent: setup done, telling the child to go");
	give_terminal(c.tty, child);
	release_child(c.go);

	status = wait_for_container(child);
	take_terminal_back(c.tty);
	return status;
}
