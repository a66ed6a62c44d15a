/*
 * Stage 02: the UTS namespace - CLONE_NEWUTS gives the child its own
 * hostname (and NIS domain name), so sethostname() inside changes nothing
 * on the host. Creating a namespace needs CAP_SYS_ADMIN: from here on, sudo.
 *
 * Mirrors: 001_0455fe89acfab686.txt, "1.UTS namespace";
 *          004_2f172a619b96e955.txt, "UTS Namespace";
 *          000_d260b8d78a5843ef.txt, "使容器具备自己的主机名".
 *
 *   sudo ./stage2 [-q] [-n NAME] [--] [command [args...]]
 */
#include <getopt.h>
#include <sched.h>

#include "../stage.h"

struct container {
	char **argv; /* the command to run, NULL-terminated */
	const char *hostname;
	pid_t parent; /* to notice a parent that died before we asked to die with it */
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: %s [-q] [-n NAME] [--] [command [args...]]\n"
		"Run command (default /bin/sh) in a new UTS namespace.\n"
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

/* The child: clone() starts it here, on the stack we gave it. */
static int container_main(void *arg)
{
	struct container *c = arg;

	exit_with_parent();
	if (getppid() != c->parent)
		_exit(EXIT_STAGE_FAILED); /* it died before prctl() took effect */

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

	parse_options(argc, argv, &c);
	keep_only_std_fds();
	c.parent = getpid();
	block_forwarded_signals();

	/*
	 * The child starts in container_main(), on the stack we pass by its top.
	 * The low byte of the flags is the signal its end sends us: SIGCHLD
	 * makes it an ordinary child to waitpid(). The other flags say what the
	 * child gets afresh instead of sharing ours:
	 *   CLONE_NEWUTS   a UTS namespace, a copy of ours: the hostname
	 */
	child = clone(container_main, child_stack_top(), CLONE_NEWUTS | SIGCHLD, &c);
	if (child < 0)
		die_hint(hint_for_clone(errno), "clone");
	say("parent: cloned child %ld into a new UTS namespace", (long)child);

	return wait_for_container(child);
}
