/*
 * Stage 04: the PID namespace - CLONE_NEWPID makes the child process 1 of a
 * new numbering. From outside it keeps its ordinary pid; inside, getpid()
 * is 1 and it is the namespace's init: orphans are reparented to it, the
 * kernel delivers it only the signals it has a handler for (SIGKILL and
 * SIGSTOP from outside excepted), and when it exits every other process in
 * the namespace is killed.
 *
 * What does not change yet: /proc is still the host's proc mount, which
 * counts pids in the host's namespace, so ps inside still lists every host
 * process. Stage 05 mounts a proc of the container's own.
 *
 * Mirrors: 001_0455fe89acfab686.txt, "3. PID namespace";
 *          000_d260b8d78a5843ef.txt, "使容器具备自己的进程系统" (up to the
 *          proc mount, which is stage 05's).
 *
 *   sudo ./stage4 [-q] [-n NAME] [--] [command [args...]]
 */
#include <getopt.h>
#include <sched.h>

#include "../stage.h"

struct container {
	char **argv; /* the command to run, NULL-terminated */
	const char *hostname;
	int go[2];          /* parent -> child: "setup is done, go on" */
	int exec_report[2]; /* child -> parent: why exec failed, if it did */
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
	 * of a new PID namespace. */
	child = clone(container_main, child_stack_top(),
		      CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID | SIGCHLD, &c);
	if (child < 0)
		die("clone", hint_for_clone(errno));
	say("parent: cloned child %ld into new UTS, IPC and PID namespaces", (long)child);

	/* The child is waiting: here the parent sets up what the child needs
	 * from outside. Nothing yet; stages 07 and 08 fill this window. */
	say("parent: setup done, telling the child to go");
	release_child(c.go);

	report_exec_failure(c.exec_report, c.argv[0]);
	return wait_for_container(child);
}
