/*
 * stage.h - the plumbing every stage needs and none teaches, so that `make
 * diff N=K` shows stage K's lesson and nothing else: say(), warn() and die(),
 * its lines on stderr; keep_only_std_fds(); block_forwarded_signals(), before
 * clone(); child_stack_top(); exit_with_parent(), the child's first step; and
 * the last steps, exec_command() in the child, wait_for_container() in the
 * parent. ../shared/CONTRACT.md says what they promise.
 */
#ifndef STAGE_H
#define STAGE_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* Exit statuses of the stage itself, the same as `docker run`'s. */
enum { EXIT_STAGE_FAILED = 125, EXIT_CANNOT_EXEC = 126, EXIT_NOT_FOUND = 127 };

static int quiet; /* -q: no progress lines, only errors */

/* One line on stderr in a single write(), so that the parent's lines and the
 * child's never interleave mid-line; named, it starts "stageN: ". */
__attribute__((format(printf, 2, 0))) static inline void write_line(int named, const char *fmt,
								    va_list ap)
{
	char line[1024];
	int n = named ? snprintf(line, sizeof(line), "%.64s: ", program_invocation_short_name) : 0;
	int len = vsnprintf(line + n, sizeof(line) - n, fmt, ap);

	if (len < 0)
		return;
	n += len < (int)sizeof(line) - n ? len : (int)sizeof(line) - n - 1; /* cut a long one */
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0)
		return; /* stderr is where we would say so: nowhere left to tell */
}

/* A progress line, "parent: ..." or "child: ...", so that a transcript reads
 * as a conversation between the two processes. -q silences it. */
__attribute__((format(printf, 1, 2))) static inline void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (!quiet)
		write_line(0, fmt, ap);
	va_end(ap);
}

/* A line that -q keeps, named for the program: "stageN: ...". */
__attribute__((format(printf, 1, 2))) static inline void warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	write_line(1, fmt, ap);
	va_end(ap);
}

/*
 * The one error line, "stageN: what failed: why (hint)", then exit 125, right
 * after the call that failed: why is strerror(errno), read first. A hint is
 * worked out before die_hint() starts: one that makes a system call must
 * leave errno as it found it. _exit(), not exit(): the child runs on a copy
 * of the parent's memory, and must not flush or run what is the parent's.
 */
__attribute__((noreturn, format(printf, 2, 3))) static inline void die_hint(const char *hint,
									    const char *fmt, ...)
{
	const char *why = strerror(errno);
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (hint)
		warn("%s: %s (%s)", what, why, hint);
	else
		warn("%s: %s", what, why);
	_exit(EXIT_STAGE_FAILED);
}
#define die(...) die_hint(NULL, __VA_ARGS__)

/* The command starts with exactly fds 0, 1 and 2: a gap in them is filled
 * with /dev/null, lest our first pipe become the command's stdin, and all
 * above 2 (bats hands its tests an fd 3) are close-on-exec, as is every one
 * a stage opens. A descriptor that leaks into a container is a way out. */
static inline void keep_only_std_fds(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		if (open("/dev/null", O_RDWR) != fd) /* lowest free number: fd */
			die("open /dev/null for a closed standard descriptor");
	}
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		die_hint("it needs Linux 5.11 or later", "close_range");
}

/* The child's stack, by the address clone() wants: one past its highest byte,
 * as stacks grow down (docs/01-clone.md). Page-aligned meets every ABI. */
static inline void *child_stack_top(void)
{
	const size_t size = 1024 * 1024;
	char *stack = mmap(NULL, size, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);

	if (stack == MAP_FAILED)
		die("mmap the child's stack");
	return stack + size;
}

/* The child's first step: when the stage dies, even of SIGKILL, the kernel
 * sends the child SIGKILL. The caller checks the stage had not died first. */
static inline void exit_with_parent(void)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		die("child: prctl(PR_SET_PDEATHSIG)");
}

/* The signals a stage passes on, and SIGCHLD: blocked from before clone() on,
 * they wait for the parent's sigwaitinfo(), with no race against the child's
 * pid being known. SIGCHLD ignored by whoever started us would have the kernel
 * reap the child itself, unseen by waitpid(). */
static sigset_t forwarded, signals_before_stage;

static inline void block_forwarded_signals(void)
{
	sigemptyset(&forwarded);
	sigaddset(&forwarded, SIGINT);
	sigaddset(&forwarded, SIGTERM);
	sigaddset(&forwarded, SIGHUP);
	sigaddset(&forwarded, SIGQUIT);
	sigaddset(&forwarded, SIGCHLD);
	if (signal(SIGCHLD, SIG_DFL) == SIG_ERR ||
	    sigprocmask(SIG_BLOCK, &forwarded, &signals_before_stage) < 0)
		die("block the signals to pass on");
}

/* The child's last step, with the signal mask the stage started with. If
 * execvp() returns, it failed: say so, and exit as `docker run` does. Not
 * called, inlined: ASan warns at a noreturn call on clone()'s stack. */
__attribute__((noreturn, always_inline)) static inline void exec_command(char **argv)
{
	int err;

	if (sigprocmask(SIG_SETMASK, &signals_before_stage, NULL) < 0)
		die("child: sigprocmask");
	execvp(argv[0], argv);
	err = errno;
	warn("cannot run '%s': %s", argv[0], strerror(err));
	_exit(err == ENOENT || err == ENOTDIR ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC);
}

/*
 * The parent's last step: pass SIGINT, SIGTERM, SIGHUP and SIGQUIT on to the
 * container's first process until it ends, then exit as it did, 128+N for
 * death by signal N. Not one the kernel sent (SI_KERNEL), a terminal's Ctrl-C
 * or hangup: that went to the terminal's foreground group, the command's -
 * but the hangup of a terminal whose session we lead goes to us alone.
 */
static inline int wait_for_container(pid_t child)
{
	siginfo_t info;
	int status, code;

	for (;;) {
		int sig = sigwaitinfo(&forwarded, &info);

		if (sig < 0 && errno != EINTR)
			die("parent: sigwaitinfo");
		if (sig == SIGCHLD) {
			pid_t done = waitpid(child, &status, WNOHANG);

			if (done < 0)
				die("parent: waitpid");
			if (done == child)
				break;
		} else if (sig > 0 && (info.si_code != SI_KERNEL ||
				       (sig == SIGHUP && getsid(0) == getpid()))) {
			say("parent: passing SIG%s on to the container", sigabbrev_np(sig));
			if (kill(child, sig) < 0)
				die("parent: kill");
		}
	}
	code = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
	say("parent: container exited with status %d", code);
	return code;
}

#endif
