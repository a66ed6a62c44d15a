/*
 * cgroup.h - the file work under /sys/fs/cgroup that stage 09's lesson
 * leaves out of main.c: a write, our own cgroup, making ours and removing it.
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

/* The cgroup below ours that the container runs in: the root of its cgroup
 * namespace in each hierarchy it is moved in. The limits sit on ours, one
 * level up, beyond its sight - and beyond a cgroup filesystem it mounts. */
#define CG_LEAF "container"

/*
 * Our cgroup in the hierarchy of CONTROLLER (NULL: v2's one), PREFIX-PID,
 * and its leaf, made in DIR: under the highest cgroup on the way down to our
 * own that we may write - the root, as root; as a user, one delegated to it
 * (systemd's user@UID.service). Never our own: on v2 a cgroup with processes
 * in it cannot hand controllers down (the no-internal-processes rule), and
 * the root alone is exempt. First the cgroups of stages that died go. On
 * v2, the parent hands down what it has of memory, pids and cpu: systemd
 * before v252 delegates memory and pids alone. 0 when made; 1, with
 * nothing made, when no cgroup on the way is ours to write; -1 with errno.
 * DIR is "" unless we made it.
 */
int cg_make(const char *controller, const char *prefix, char dir[], size_t size);

/* DIR and every cgroup below it, its leaf and what root inside made there,
 * gone, the deepest first: whatever is left in them killed, then rmdir()
 * until the kernel has let go of the dead. -1 with errno when one will not go. */
int cg_remove(const char *dir);

#define CPU_PERIOD 100000 /* us: the kernel's default period, and docker's */

/* --cpus F: F * CPU_PERIOD us of CPU time a period; -1 unless F is from 0.01
 * (the kernel's least quota is 1 ms) to the number of CPUs online. */
long parse_cpus(const char *text);

/* "256M": bytes, or K, M or G of them, as docker reads sizes; -1 if not,
 * or if twice it (v1's memory and swap) would not fit in a long long. */
long long parse_size(const char *text);

#endif
