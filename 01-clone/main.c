/*
 * Stage 01: clone() - start a child on a stack of its own, run a command
 * in it, wait for it, and exit as it did. No namespace yet: this is the
 * skeleton every later stage adds one flag and one step to.
 *
 * Mirrors: 001_0455fe89acfab686.txt, the template before "1.UTS namespace";
 *          004_2f172a619b96e955.txt, "clone()系统调用".
 *
 *   ./stage1 [-q] [--] [command [args...]]     (no sudo needed yet)
 */
#include <getopt.h>
#include <sched.h>

#include "../stage.h"

struct container {
	char **argv; /* the command to run, NULL-terminated */
	pid_t parent; /* to notice a parent that died before we asked to die with it */
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: %s [-q] [--] [command [args...]]\n"
		"Run command (default /bin/sh) as a child made by clone().\n"
		"  -q, --quiet           no progress lines on stderr\n"
		"  -h, --help            show this help\n",
		program_invocation_short_name);
}

/* "+" stops at the first non-option, so the command keeps its own flags. */
static void parse_options(int argc, char **argv, struct container *c)
{
	static const struct option longopts[] = {
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static char *default_command[] = { "/bin/sh", NULL };
	int opt;

	argv[0] = program_invocation_short_name; /* getopt's messages: "stageN: ..." */
	while ((opt = getopt_long(argc, argv, "+qh", longopts, NULL)) != -1) {
		switch (opt) {
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
	if (getppid() != c->parent)
		_exit(EXIT_STAGE_FAILED); /* it died before prctl() took effect */

	say("child: I am pid %ld, running %s", (long)getpid(), c->argv[0]);
	exec_command(c->argv);
}

/* The parent: make the child, then wait for it. */
int main(int argc, char **argv)
{
	struct container c = { 0 };
	pid_t child;

	parse_options(argc, argv, &c);
	keep_only_std_fds();
	c.parent = getpid();
	block_forwarded_signals();

	/*
	 * The child starts in container_main(), on the stack we pass by its top.
	 * The low byte of the flags is the signal its end sends us: SIGCHLD
	 * makes it an ordinary child to waitpid(). The other flags say what the
	 * child gets afresh instead of sharing ours (none yet).
	 */
	child = clone(container_main, child_stack_top(), SIGCHLD, &c);
	if (child < 0)
		die("clone");
	say("parent: cloned child %ld", (long)child);

	return wait_for_container(child);
}
