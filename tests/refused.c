/*
 * tests/refused.c: what stage 15's tests run inside the container, built
 * static so that it needs nothing of the rootfs. Each mode prints one line
 * a call: its name, then "ok" or the errno's name.
 *
 *   refused calls             the calls the filter refuses, clone3, and a newer one
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
#include <sys/wait.h>
#include <unistd.h>

#define X32_KEYCTL (0x40000000 + 250) /* __X32_SYSCALL_BIT + keyctl's number */

static void report(const char *name, long result)
{
	printf("%s %s\n", name, result < 0 ? strerrorname_np(errno) : "ok");
}

/* A user namespace by clone(): the child, if the kernel makes it, leaves at once. */
static long clone_new_user(void)
{
	long pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, NULL, NULL, 0);

	if (pid == 0)
		_exit(0);
	if (pid > 0)
		waitpid((pid_t)pid, NULL, 0);
	return pid;
}

/*
 * Each call the filter refuses, with arguments that make the kernel itself
 * fail it harmlessly (a bad descriptor, no such path, a null pointer),
 * whatever this runs as: the test tells the filter's EPERM from the kernel's.
 */
static void calls(void)
{
	static const char nowhere[] = "/refused-no-such-dir";
	int tty = open("/dev/tty", O_RDWR | O_CLOEXEC);
	long fd;

	/* KEYCTL_GET_KEYRING_ID of the session keyring */
	report("keyctl", syscall(SYS_keyctl, 0, -3, 0));
	report("keyctl-x32", syscall(X32_KEYCTL, 0, -3, 0));
	report("add_key", syscall(SYS_add_key, NULL, NULL, NULL, 0, 0));
	report("request_key", syscall(SYS_request_key, NULL, NULL, NULL, 0));
	/* BPF_MAP_CREATE, with no attributes */
	report("bpf", syscall(SYS_bpf, 0, NULL, 0));
	report("perf_event_open", syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0));
	fd = syscall(SYS_userfaultfd, 1 /* UFFD_USER_MODE_ONLY */ | O_CLOEXEC);
	report("userfaultfd", fd);
	if (fd >= 0)
		close((int)fd);
	/* flags no kernel knows: never an unload */
	report("kexec_load", syscall(SYS_kexec_load, 0, 0, NULL, ~0UL));
	report("kexec_file_load", syscall(SYS_kexec_file_load, -1, -1, 0, NULL, ~0UL));
	report("init_module", syscall(SYS_init_module, NULL, 0, NULL));
	report("finit_module", syscall(SYS_finit_module, -1, "", 0));
	report("delete_module", syscall(SYS_delete_module, "refused_no_such_module", 0));
	report("open_by_handle_at", syscall(SYS_open_by_handle_at, -1, NULL, 0));
	/* onto no directory: never a mount, wherever it runs */
	report("mount", mount("none", nowhere, "tmpfs", 0, NULL));
	report("umount2", syscall(SYS_umount2, nowhere, 0));
	report("pivot_root", syscall(SYS_pivot_root, nowhere, nowhere));
	report("fsopen", syscall(SYS_fsopen, "refused_no_such_fs", 0));
	report("fsconfig", syscall(SYS_fsconfig, -1, 0, NULL, NULL, 0));
	report("fsmount", syscall(SYS_fsmount, -1, 0, 0));
	report("fspick", syscall(SYS_fspick, -1, nowhere, 0));
	report("move_mount", syscall(SYS_move_mount, -1, nowhere, -1, nowhere, 0));
	report("open_tree", syscall(SYS_open_tree, -1, nowhere, 0));
	report("mount_setattr", syscall(SYS_mount_setattr, -1, nowhere, 0, NULL, 0));
	report("swapon", syscall(SYS_swapon, nowhere, 0));
	report("swapoff", syscall(SYS_swapoff, nowhere));
	report("acct", syscall(SYS_acct, nowhere));
	report("io_uring_setup", syscall(SYS_io_uring_setup, 0, NULL));
	report("io_uring_enter", syscall(SYS_io_uring_enter, -1, 0, 0, 0, NULL, 0));
	report("io_uring_register", syscall(SYS_io_uring_register, -1, 0, NULL, 0));
	report("clone-user", clone_new_user());
	if (tty < 0) {
		report("tiocsti", -1);
		report("tioclinux", -1);
	} else { /* one space into the terminal's input; a console's selection */
		report("tiocsti", ioctl(tty, TIOCSTI, " "));
		report("tioclinux", ioctl(tty, TIOCLINUX, NULL));
	}
	/* clone3 with no arguments: EINVAL from the kernel, ENOSYS from the filter */
	report("clone3", syscall(SYS_clone3, NULL, 0));
	/* cachestat (Linux 6.5), newer than the filter's list: EBADF from such a kernel */
	report("cachestat", syscall(451, -1, NULL, NULL, 0));
	/* last: the user namespace it makes would be ours from here on */
	report("unshare-user", unshare(CLONE_NEWUSER));
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
