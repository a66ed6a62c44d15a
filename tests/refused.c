/*
 * tests/refused.c: what stage 15's tests run inside the container, built
 * static so that it needs nothing of the rootfs. Each mode prints one line
 * a call: its name, then "ok" or the errno's name.
 *
 *   refused calls             the calls the filter refuses, and clone3
 *   refused int80             a 32-bit call, by int $0x80: prints only if it lives
 *   refused drop PROGRAM...   give up every capability, then exec PROGRAM
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#define X32_KEYCTL (0x40000000 + 250) /* __X32_SYSCALL_BIT + keyctl's number */

static void report(const char *name, long result)
{
	printf("%s %s\n", name, result < 0 ? strerrorname_np(errno) : "ok");
}

static void calls(void)
{
	int tty = open("/dev/tty", O_RDWR | O_CLOEXEC);

	/* KEYCTL_GET_KEYRING_ID of the session keyring */
	report("keyctl", syscall(SYS_keyctl, 0, -3, 0));
	report("keyctl-x32", syscall(X32_KEYCTL, 0, -3, 0));
	/* BPF_MAP_CREATE, with no attributes */
	report("bpf", syscall(SYS_bpf, 0, NULL, 0));
	/* onto no directory: never a mount, wherever it runs */
	report("mount", mount("none", "/refused-no-such-dir", "tmpfs", 0, NULL));
	if (tty < 0)
		report("tiocsti", -1);
	else /* one space into the terminal's input */
		report("tiocsti", ioctl(tty, TIOCSTI, " "));
	report("unshare-user", unshare(CLONE_NEWUSER));
	/* clone3 with no arguments: EINVAL from the kernel, ENOSYS from the filter */
	report("clone3", syscall(SYS_clone3, NULL, 0));
}

static int drop_and_exec(char **argv)
{
	struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct none[2] = { { 0 } };

	if (syscall(SYS_capset, &header, none) < 0) {
		report("capset", -1);
		return 1;
	}
	execv(argv[0], argv);
	report("exec", -1);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "calls") == 0) {
		calls();
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "int80") == 0) {
		long pid;

		__asm__ volatile("int $0x80" : "=a"(pid) : "a"(20) : "memory"); /* i386's getpid */
		printf("int80 %ld\n", pid);
		return 0;
	}
	if (argc > 2 && strcmp(argv[1], "drop") == 0)
		return drop_and_exec(argv + 2);
	fprintf(stderr, "usage: refused calls | int80 | drop PROGRAM [ARGS...]\n");
	return 2;
}
