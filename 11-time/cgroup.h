/*
 * cgroup.h - the file work under /sys/fs/cgroup that stage 09's lesson
 * leaves out of main.c: a write, our own cgroup, and removing a cgroup.
 */
#ifndef CGROUP_H
#define CGROUP_H

#include <stddef.h>

/* A value into DIR/FILE in one write(), printf-style; -1 with errno. */
__attribute__((format(printf, 3, 4))) int cg_write(const char *dir, const char *file,
						   const char *fmt, ...);

/* Our own cgroup in the hierarchy of CONTROLLER (NULL: the v2 one), from
 * /proc/self/cgroup: its path, and that hierarchy's controllers
 * ("cpu,cpuacct"). -1 (ENOENT) when no line names it. */
int cg_own(const char *controller, char path[], size_t size, char controllers[], size_t csize);

/* Where our cgroups go in the hierarchy of CONTROLLER, /sys/fs/cgroup/NAME
 * (NULL: v2's one, /sys/fs/cgroup): into DIR, the highest cgroup on the way down to our
 * own that we may write - the root, as root; as a user, one delegated to it
 * (systemd's user@UID.service). Never our own: on v2 a cgroup with processes
 * in it cannot hand controllers down (the no-internal-processes rule), and
 * the root alone is exempt. -1 when nothing on the way is ours to write. */
int cg_parent(const char *controller, char dir[], size_t size);

/* DIR, gone: whatever is left in it killed, then rmdir() until the kernel
 * has let go of the dead. -1 with errno when it will not go. */
int cg_remove(const char *dir);

/* In PARENT, the cgroups PREFIX-PID of stages that died (kill -9) before they
 * removed theirs - and one of our own pid, from a stage that had it before us. */
void cg_sweep(const char *parent, const char *prefix);

#define CPU_PERIOD 100000 /* us: the kernel's default period, and docker's */

/* --cpus F: F * CPU_PERIOD us of CPU time a period; -1 unless F is from 0.01
 * (the kernel's least quota is 1 ms) to the number of CPUs online. */
long parse_cpus(const char *text);

/* "256M": bytes, or K, M or G of them, as docker reads sizes; -1 if not. */
long long parse_size(const char *text);

#endif
