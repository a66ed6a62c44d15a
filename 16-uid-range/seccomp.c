/*
 * seccomp.c - stage 15's seccomp filter (seccomp.h). The kernel hands the
 * program a struct seccomp_data for each call - its number, the
 * architecture it came by, its six arguments - and acts on the value the
 * program returns. Classic BPF: one register A, loads from that struct,
 * jumps only forward, so the program always ends. What it refuses follows
 * docker's default profile, which allows a list instead (docs/15).
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "seccomp.h"

/* Refused with EPERM: what reaches past the container's namespaces into the
 * kernel's own state, or swaps its mounts, which are the container's walls. */
static const int denied[] = {
	/* the kernel's keyrings, whose keys go by uid: under sudo, root's */
	SYS_keyctl,
	SYS_add_key,
	SYS_request_key,
	/* programs and hooks in the kernel, and a way to stall it at will */
	SYS_bpf,
	SYS_perf_event_open,
	SYS_userfaultfd,
	/* another kernel, or code loaded into this one */
	SYS_kexec_load,
	SYS_kexec_file_load,
	SYS_init_module,
	SYS_finit_module,
	SYS_delete_module,
	/* a handle opens any file of the filesystem, outside the root too
	 * (docker's "shocker" escape, 2014) */
	SYS_open_by_handle_at,
	/* the mounts: by the old calls and by the new mount API */
	SYS_mount,
	SYS_umount2,
	SYS_pivot_root,
	SYS_fsopen,
	SYS_fsconfig,
	SYS_fsmount,
	SYS_fspick,
	SYS_move_mount,
	SYS_open_tree,
	SYS_mount_setattr,
	/* the host's swap and process accounting */
	SYS_swapon,
	SYS_swapoff,
	SYS_acct,
	/* io_uring's requests run without a system call, where no filter sees them */
	SYS_io_uring_setup,
	SYS_io_uring_enter,
	SYS_io_uring_register,
};
enum { DENIED = sizeof(denied) / sizeof(denied[0]) };

/* The last call this list was read against: set_mempolicy_home_node, the
 * last of Linux 6.1. A later kernel's calls (open_tree_attr, 6.15: a mount
 * call) are not in it, so each gets ENOSYS, as from a kernel without it. */
#define LAST_READ 450

/* The program's parts, by where each starts: its checks, a jump for each
 * call denied, then the ends that they jump to. */
enum {
	CHECKS = 9,
	ALLOW = CHECKS + DENIED,
	CLONE_FLAGS = ALLOW + 1, /* 3 instructions */
	IOCTL_REQUEST = CLONE_FLAGS + 3, /* 4 */
	REFUSE = IOCTL_REQUEST + 4,
	NO_SUCH_CALL = REFUSE + 1,
	KILL = NO_SUCH_CALL + 1,
	LENGTH = KILL + 1,
};

static struct sock_filter program[LENGTH];
static int at;

/* One instruction. A jump's yes and no are places in the program, 0 for the
 * next one (the first is never jumped to); BPF counts them from the next. */
static void put(__u16 code, __u32 k, int yes, int no)
{
	if (at < LENGTH)
		program[at] = (struct sock_filter){ code, yes ? yes - at - 1 : 0,
						    no ? no - at - 1 : 0, k };
	at++;
}

/* A 32-bit load from the struct; an argument's low half is first on x86-64,
 * the little-endian machine this filter is for (it kills every other). */
#define LOAD (BPF_LD | BPF_W | BPF_ABS)
#define FIELD(name) offsetof(struct seccomp_data, name)

struct sock_fprog seccomp_program(void)
{
	at = 0;
	/* The architecture first: the same number is another call on another.
	 * A 32-bit call by int $0x80 comes as i386's: killed. */
	put(LOAD, FIELD(arch), 0, 0);
	put(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, KILL);
	put(LOAD, FIELD(nr), 0, 0);
	/* x32's calls come as x86-64's, numbered from this bit up: keyctl by
	 * its x32 number would pass every check below. */
	put(BPF_JMP | BPF_JGE | BPF_K, __X32_SYSCALL_BIT, REFUSE, 0);
	put(BPF_JMP | BPF_JGT | BPF_K, LAST_READ, NO_SUCH_CALL, 0);
	/* clone3 hides its flags in memory, where BPF cannot look: ENOSYS, so
	 * that glibc falls back to clone, whose flags it can (moby #42680). */
	put(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, NO_SUCH_CALL, 0);
	put(BPF_JMP | BPF_JEQ | BPF_K, SYS_unshare, CLONE_FLAGS, 0);
	put(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, CLONE_FLAGS, 0);
	put(BPF_JMP | BPF_JEQ | BPF_K, SYS_ioctl, IOCTL_REQUEST, 0);
	for (int i = 0; i < DENIED; i++)
		put(BPF_JMP | BPF_JEQ | BPF_K, (__u32)denied[i], REFUSE, 0);
	put(BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);

	/* A user namespace of its own would give root inside every capability
	 * again, over new namespaces: the kernel's code for them to attack. */
	put(LOAD, FIELD(args[0]), 0, 0);
	put(BPF_JMP | BPF_JSET | BPF_K, CLONE_NEWUSER, REFUSE, 0);
	put(BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);

	/* TIOCSTI types into the terminal, which may be the host's shell's
	 * (bubblewrap's CVE-2017-5226); TIOCLINUX does it on a console. The
	 * kernel reads the request as 32 bits: the low half is all of it. */
	put(LOAD, FIELD(args[1]), 0, 0);
	put(BPF_JMP | BPF_JEQ | BPF_K, TIOCSTI, REFUSE, 0);
	put(BPF_JMP | BPF_JEQ | BPF_K, TIOCLINUX, REFUSE, 0);
	put(BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);

	put(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM, 0, 0);
	put(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS, 0, 0);
	put(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS, 0, 0);
	/* Not as many as the parts' places above say: none, which the kernel
	 * refuses (EINVAL). */
	return (struct sock_fprog){ .len = at == LENGTH ? LENGTH : 0, .filter = program };
}

int seccomp_install(void)
{
	struct sock_fprog filter = seccomp_program();

	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &filter);
}
