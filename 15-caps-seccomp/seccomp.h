/*
 * seccomp.h - stage 15's seccomp filter: a BPF program, written by hand,
 * that the kernel runs on every system call the container makes from its
 * exec on, and that decides: let it through, refuse it, or kill.
 */
#ifndef SECCOMP_H
#define SECCOMP_H

/* The program's length, in instructions: far below the kernel's 4096
 * (BPF_MAXINSNS), and run in full only by the calls it lets through. */
int seccomp_length(void);

/*
 * Install it on the calling thread, for good: what we exec inherits it,
 * and no call takes it away. Needs no_new_privs, or CAP_SYS_ADMIN.
 * 0, or -1 and errno.
 */
int seccomp_install(void);

#endif
