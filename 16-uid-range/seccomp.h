/*
 * seccomp.h - stage 15's seccomp filter: a BPF program, written by hand,
 * that the kernel runs on every system call the container makes from its
 * exec on, and that decides: let it through, refuse it, or kill.
 */
#ifndef SECCOMP_H
#define SECCOMP_H

#include <linux/filter.h>

/* The program, written out: its instructions and their number, 48, far
 * below the kernel's 4096 (BPF_MAXINSNS). A call it lets through runs
 * most of them. */
struct sock_fprog seccomp_program(void);

/*
 * Install it on the calling thread, for good: what we exec inherits it,
 * and no call takes it away. Needs no_new_privs, or CAP_SYS_ADMIN.
 * 0, or -1 and errno.
 */
int seccomp_install(void);

#endif
