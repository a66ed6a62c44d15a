/*
 * stage.h - what the stages need and none of them teaches.
 *
 * Each NN-name/main.c is one lesson. The plumbing they all share lives here
 * so that diffing two neighbouring main.c files shows the lesson and nothing
 * else:
 *
 *   say(), die(), fail()    progress lines and the one-line error exit (125)
 *   child_stack_top()       memory for the child to run on
 *   make_pipe()             every descriptor we open is close-on-exec
 *   hint_for_userns()       what to do when a user namespace is refused
 *   check_rootfs()          stage 06 on: the rootfs and the command in it,
 *                           checked before anything is cloned or mounted
 *   check_terminal()        job control: the command gets the terminal
 *   wait_for_parent(),      the parent->child "setup is done" pipe (stage 03 on)
 *   release_child(),
 *   die_in_setup(),
 *   write_file()            ... and the parent's writes into the child's /proc
 *   exec_command()          the child's last step: exec, or report why not
 *   wait_for_container()    the parent's last step: forward signals, reap,
 *                           turn the child's end into our exit status
 *
 * See ../shared/CONTRACT.md for what these promise.
 */
#ifndef STAGE_H
#define STAGE_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

/* Exit statuses of the stage itself, the same as `docker run`'s. */
enum { EXIT_STAGE_FAILED = 125, EXIT_CANNOT_EXEC = 126, EXIT_NOT_FOUND = 127 };

static int quiet; /* -q: no progress lines, only errors */

/* One line on stderr in a single write(), so that lines from the parent and
 * the child never interleave mid-line. A line longer than the buffer is cut. */
static inline void write_line(const char *fmt, va_list ap)
{
	char line[1024];
	int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);

	if (n < 0)
		return;
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0)
		return; /* stderr is where we would report it: nowhere left to say so */
}

/* A progress line: "parent: ..." or "child: ...", so that a transcript reads
 * as a conversation between the two processes. */
__attribute__((format(printf, 1, 2))) static inline void say(const char *fmt, ...)
{
	va_list ap;

	if (quiet)
		return;
	va_start(ap, fmt);
	write_line(fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 1, 2))) static inline void shout(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	write_line(fmt, ap);
	va_end(ap);
}

/*
 * The one error line, "stageN: what failed: why (hint)", then exit 125.
 * _exit(), not exit(): the child runs on a copy of the parent's memory, and
 * must not flush or run anything that belongs to the parent.
 */
__attribute__((noreturn)) static inline void fail(const char *what, const char *why,
						  const char *hint)
{
	if (hint)
		shout("%s: %s: %s (%s)", program_invocation_short_name, what, why, hint);
	else
		shout("%s: %s: %s", program_invocation_short_name, what, why);
	_exit(EXIT_STAGE_FAILED);
}

/* For a failed call: right after it, while errno still says why. */
__attribute__((noreturn)) static inline void die(const char *what, const char *hint)
{
	fail(what, strerror(errno), hint);
}

/* The hint for the failure every newcomer meets first. */
static inline const char *hint_for_clone(int err)
{
	if (err != EPERM)
		return NULL;
	/* Root without CAP_SYS_ADMIN: inside a container already, most likely. */
	return geteuid() == 0 ? "root here lacks CAP_SYS_ADMIN: is this a container already?"
			      : "run it with sudo";
}

/* One number from a sysctl file, or -1 where there is no such file. */
static inline long sysctl_value(const char *path)
{
	char text[32] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, text, sizeof(text) - 1);
	if (close(fd) < 0)
		return -1;
	return n > 0 ? strtol(text, NULL, 10) : -1;
}

/*
 * Why the kernel refused a user namespace (stage 07 on): each of these
 * sysctls can forbid one, and which exists depends on the distribution.
 */
static inline const char *hint_for_userns(int err)
{
	if (err == ENOSPC)
		return sysctl_value("/proc/sys/user/max_user_namespaces") == 0
			       ? "user namespaces are disabled: sysctl -w user.max_user_namespaces=10000"
			       : "too many user namespaces: see sysctl user.max_user_namespaces";
	if (err != EPERM)
		return NULL;
	if (sysctl_value("/proc/sys/kernel/unprivileged_userns_clone") == 0)
		return "unprivileged user namespaces are disabled: sysctl -w kernel.unprivileged_userns_clone=1";
	if (sysctl_value("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == 1)
		return "AppArmor forbids unprivileged user namespaces: sysctl -w kernel.apparmor_restrict_unprivileged_userns=0";
	return NULL;
}

/*
 * Before anything else: the command must start with exactly fds 0, 1 and 2.
 * A closed 0, 1 or 2 would be handed to our first pipe and so to the command
 * as its stdin or stdout, so fill any gap with /dev/null. Anything inherited
 * above 2 (bats hands its tests an open fd 3) becomes close-on-exec: a
 * descriptor that leaks into a container is a way out of it.
 */
static inline void keep_only_std_fds(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		if (open("/dev/null", O_RDWR) != fd) /* lowest free number: fd */
			die("open /dev/null for a closed standard descriptor", NULL);
	}
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		die("close_range", "it needs Linux 5.11 or later");
}

/*
 * clone() does not allocate a stack for the child the way fork() copies the
 * parent's: we hand it one. Stacks grow down on every architecture a
 * container runs on, so clone() wants the address one past the highest byte,
 * where the first push lands just below. mmap() returns page-aligned memory,
 * so that address meets every ABI's alignment rule.
 */
#define CHILD_STACK_SIZE (1024 * 1024)

static inline void *child_stack_top(void)
{
	char *stack = mmap(NULL, CHILD_STACK_SIZE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);

	if (stack == MAP_FAILED)
		die("mmap the child's stack", NULL);
	return stack + CHILD_STACK_SIZE;
}

static inline void make_pipe(int fds[2], const char *what)
{
	if (pipe2(fds, O_CLOEXEC) < 0)
		die(what, NULL);
}

/*
 * Stage 03 on, the child must not run the command before the parent has set
 * up its side (uid maps in 07, the veth in 08). The parent holds the write end
 * of the "go" pipe; the child blocks reading it.
 *
 * One byte means "go". End of file means the parent is gone - it died, or it
 * gave up after printing its own error - so the child leaves without running
 * anything.
 *
 * The parent keeps its write end open until it exits, and that is how the
 * child, whose PR_SET_PDEATHSIG is in place by now, checks that the parent
 * still lives: a parent could write "go" and die before that prctl() took
 * effect, leaving its byte in the pipe. getppid() cannot tell inside a PID
 * namespace (it is 0 there whether the parent lives or not); a pipe with no
 * writer left can.
 */
static inline void wait_for_parent(int go[2])
{
	struct pollfd parent = { .fd = go[0] };
	char byte;
	ssize_t n;

	/* Our copy of the write end would keep the pipe open forever. */
	if (close(go[1]) < 0)
		die("child: close the go pipe's write end", NULL);
	do
		n = read(go[0], &byte, 1);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		die("child: read the go pipe", NULL);
	if (n == 0)
		_exit(EXIT_STAGE_FAILED);
	if (poll(&parent, 1, 0) < 0)
		die("child: poll the go pipe", NULL);
	if (parent.revents & POLLHUP)
		_exit(EXIT_STAGE_FAILED); /* it said go, then died */
	if (close(go[0]) < 0)
		die("child: close the go pipe", NULL);
}

static inline void release_child(int go[2])
{
	/* The parent kept its read end open until now, so a child that has
	 * already died turns this write into nothing worse than a byte nobody
	 * reads, instead of a SIGPIPE that would kill the parent. The write end
	 * stays open until we exit: see wait_for_parent(). */
	if (write(go[1], "g", 1) != 1)
		die("parent: write the go pipe", NULL);
	if (close(go[0]) < 0)
		die("parent: close the go pipe's read end", NULL);
}

/*
 * The parent failed while the child waits for "go" - stage 07 writing its
 * maps, 08 wiring its network: kill and reap the child before saying why, so
 * that nothing of the container outlives the stage's error line.
 */
__attribute__((noreturn)) static inline void die_in_setup(pid_t child, const char *what,
							  const char *hint)
{
	int err = errno;

	if (kill(child, SIGKILL) < 0 || waitpid(child, NULL, 0) < 0)
		die("parent: kill the waiting child", NULL);
	errno = err;
	die(what, hint);
}

/* The parent's writes into the child's /proc/PID: NAME, one write(). */
static inline int write_file(pid_t pid, const char *name, const char *text)
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
 * Every stage dies with its parent: if the stage process is killed, even by
 * SIGKILL, the kernel sends its child SIGKILL. The child's caller checks
 * whether the parent was already gone before this took effect.
 */
static inline void exit_with_parent(void)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		die("child: prctl(PR_SET_PDEATHSIG)", NULL);
}

/* The rootfs beside the binary (where make rootfs puts it), else ./rootfs. */
static inline const char *default_rootfs(void)
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

/*
 * Is path there inside the rootfs? Looked up as the container will see it:
 * RESOLVE_IN_ROOT makes an absolute symlink such as busybox's
 * /bin/sh -> /bin/busybox resolve inside the rootfs, not on the host.
 * Only "not there" counts; anything else is for execve() to report.
 */
static inline int in_rootfs(int rootfs, const char *path)
{
	struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT };
	int fd = syscall(SYS_openat2, rootfs, path, &how, sizeof(how));

	if (fd < 0)
		return errno != ENOENT && errno != ENOTDIR;
	if (close(fd) < 0)
		die("close a file of the rootfs", NULL);
	return 1;
}

/* What execvp() in the container will do: a name with a slash is a path,
 * any other is looked for in each directory of PATH. */
static inline int command_in_rootfs(int rootfs, const char *command)
{
	char path[PATH_MAX];
	const char *dirs = getenv("PATH");

	if (strchr(command, '/'))
		return in_rootfs(rootfs, command);
	if (!dirs)
		dirs = "/bin:/usr/bin"; /* execvp()'s own default */
	for (const char *dir = dirs; dir; dir = strchr(dir, ':') ? strchr(dir, ':') + 1 : NULL) {
		int len = strcspn(dir, ":");

		snprintf(path, sizeof(path), "%.*s/%s", len, len ? dir : ".", command);
		if (in_rootfs(rootfs, path))
			return 1;
	}
	return 0;
}

/*
 * Stage 06 on, before anything is cloned or mounted: is there a rootfs, and
 * the command in it? A missing rootfs is 125 with the make rootfs hint, a
 * missing command 127, as the contract says - and nothing is half-made yet.
 */
static inline void check_rootfs(const char *path, const char *command)
{
	int rootfs = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	char what[PATH_MAX + 8];

	/* The paths under it are built in PATH_MAX buffers: leave room. */
	if (rootfs >= 0 && strlen(path) > PATH_MAX - sizeof("/dev/urandom")) {
		errno = ENAMETOOLONG;
		die("the rootfs's path", "a shorter one leaves room for the paths under it");
	}
	snprintf(what, sizeof(what), "rootfs %s", path);
	if (rootfs < 0)
		die(what, errno == ENOENT ? "run 'make rootfs' first" : NULL);
	if (!command_in_rootfs(rootfs, command)) {
		shout("%s: cannot run '%s': %s (not in the rootfs %s)",
		      program_invocation_short_name, command, strerror(ENOENT), path);
		_exit(EXIT_NOT_FOUND);
	}
	if (close(rootfs) < 0)
		die("close the rootfs", NULL);
}

/*
 * Job control. A terminal sends its input, Ctrl-C and Ctrl-Z to one process
 * group at a time, its foreground. The command runs in a process group of its
 * own - from stage 04 on, the group it was born in lies outside its PID
 * namespace, where a shell inside cannot name it - and when the stage is the
 * terminal's foreground job it hands the terminal to the command while it
 * runs, as a shell does for a job, and takes it back after.
 *
 * A stage started in the background with the terminal as its stdin would
 * leave the command a background group reading it; as pid 1 of a namespace
 * (stage 04 on) it could not even be stopped for that, and would spin. So the
 * stage refuses.
 */
static int terminal = -1; /* a descriptor on our terminal, if we own its foreground */

static inline void check_terminal(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		/* Fails (ENOTTY) unless fd is our controlling terminal. */
		pid_t foreground = tcgetpgrp(fd);

		if (foreground < 0)
			continue;
		if (foreground == getpgrp())
			terminal = fd;
		else if (fd == STDIN_FILENO)
			fail("start", "stdin is a terminal, and this job is in its background",
			     "run it in the foreground, or with stdin from elsewhere: </dev/null");
		return;
	}
}

/* Needs SIGTTOU blocked: the caller is not always in the foreground group. */
static inline void give_terminal_to(pid_t group)
{
	/* A terminal that hung up has no foreground left to give. */
	if (tcsetpgrp(terminal, group) < 0 && errno != ENOTTY)
		die("tcsetpgrp", NULL);
}

/*
 * The signals a stage passes on to its container. They are blocked in the
 * parent from before clone() until it exits, and the parent takes them with
 * sigwaitinfo() instead of a handler: no race between a signal and the child's
 * pid being known, and SIGCHLD arrives in the same loop.
 */
static sigset_t signals_before_stage;

static inline void forwarded_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGQUIT);
	sigaddset(set, SIGCHLD);
}

static inline void block_forwarded_signals(void)
{
	sigset_t set;

	/* SIGCHLD ignored by whoever started us would make the kernel reap the
	 * child itself, and waitpid() would never see it end. */
	if (signal(SIGCHLD, SIG_DFL) == SIG_ERR)
		die("signal(SIGCHLD)", NULL);
	forwarded_signals(&set);
	/* SIGTTOU too: handing the terminal over is done from the background. */
	sigaddset(&set, SIGTTOU);
	if (sigprocmask(SIG_BLOCK, &set, &signals_before_stage) < 0)
		die("sigprocmask", NULL);
}

/*
 * The child's last step: its own process group, the terminal if the stage
 * had it, the signal mask the stage started with, and exec. The exec report
 * pipe is close-on-exec: a successful execvp() closes it and the parent reads
 * end of file; a failed one sends the parent the exact errno. Exit codes as
 * `docker run`: 127 not found, 126 found but not executable.
 */
__attribute__((noreturn)) static inline void exec_command(char **argv, int exec_report[2])
{
	int err;

	if (setpgid(0, 0) < 0)
		die("child: setpgid", NULL);
	if (terminal >= 0)
		give_terminal_to(getpgrp());
	if (sigprocmask(SIG_SETMASK, &signals_before_stage, NULL) < 0)
		die("child: sigprocmask", NULL);
	execvp(argv[0], argv);
	err = errno;
	if (write(exec_report[1], &err, sizeof(err)) != sizeof(err))
		die("child: write the exec report", NULL);
	_exit(err == ENOENT || err == ENOTDIR ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC);
}

/* Parent: did the command start? Prints the error line if it did not. */
static inline void report_exec_failure(int exec_report[2], const char *command)
{
	int err;
	ssize_t n;

	/* Our copy of the write end would keep read() from ever seeing EOF. */
	if (close(exec_report[1]) < 0)
		die("parent: close the exec report's write end", NULL);
	do
		n = read(exec_report[0], &err, sizeof(err));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		die("parent: read the exec report", NULL);
	if (n == sizeof(err)) {
		shout("%s: cannot run '%s': %s", program_invocation_short_name, command,
		      strerror(err));
	}
	if (close(exec_report[0]) < 0)
		die("parent: close the exec report", NULL);
}

/* 128+N for death by signal N, as a shell reports it. */
static inline int exit_code_of(int status)
{
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/*
 * The command stopped - Ctrl-Z, or SIGSTOP from the host - and, in a group of
 * its own, it stopped alone. Stop the stage too, so that the shell that
 * started it sees its job stopped and takes the terminal back; when the shell
 * continues us (fg, or bg), continue the command.
 */
static inline void stop_with_container(pid_t child, int sig)
{
	if (terminal >= 0)
		give_terminal_to(getpgrp());
	/* SIGTTOU is blocked here: stop with SIGTSTP in its place. */
	if (kill(getpid(), sig == SIGSTOP ? SIGSTOP : SIGTSTP) < 0)
		die("parent: stop", NULL);
	if (terminal >= 0 && tcgetpgrp(terminal) == getpgrp())
		give_terminal_to(child); /* fg gave it back to us */
	/* The whole group: Ctrl-Z stopped every process in it. */
	if (kill(-child, SIGCONT) < 0)
		die("parent: kill(SIGCONT)", NULL);
}

/*
 * The parent's last step: pass SIGINT, SIGTERM, SIGHUP and SIGQUIT on to the
 * container's first process until it ends, then exit as it did. The command
 * is in a process group of its own, so a signal that reached us did not
 * reach it: we pass on every one.
 */
static inline int wait_for_container(pid_t child)
{
	sigset_t set;
	siginfo_t info;
	int status;

	forwarded_signals(&set);
	for (;;) {
		int sig = sigwaitinfo(&set, &info);

		if (sig < 0) {
			if (errno == EINTR)
				continue;
			die("parent: sigwaitinfo", NULL);
		}
		if (sig == SIGCHLD) {
			pid_t done = waitpid(child, &status, WNOHANG | WUNTRACED);

			if (done < 0)
				die("parent: waitpid", NULL);
			if (done == child && WIFSTOPPED(status))
				stop_with_container(child, WSTOPSIG(status));
			else if (done == child)
				break;
			continue;
		}
		say("parent: passing SIG%s on to the container", sigabbrev_np(sig));
		if (kill(child, sig) < 0)
			die("parent: kill", NULL);
	}
	if (terminal >= 0)
		give_terminal_to(getpgrp());
	say("parent: container exited with status %d", exit_code_of(status));
	return exit_code_of(status);
}

#endif
