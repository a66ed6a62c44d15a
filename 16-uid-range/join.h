/*
 * join.h - what exec needs before it joins a container, which stage 12's
 * lesson leaves out of main.c: a sealed copy of itself to run from; the
 * container's cgroup and its namespaces, opened from its /proc directory.
 */
#ifndef JOIN_H
#define JOIN_H

/*
 * Run from a sealed copy of this program, in memory (memfd_create(2)), as
 * runc does since CVE-2019-5736: /proc/self/exe, which a command inside can
 * run again (`#!/proc/self/exe`) and then open for writing, is then the
 * copy, which no one can write, never the host's binary. Returns 0 when we
 * run from it already; else execs ARGV from it and returns only on error.
 */
int join_from_sealed_copy(char **argv);

/*
 * The cgroup.procs of the leaf LEAF ("/stage12-PID/container") that the
 * process of /proc directory PROC is in, or below, in the hierarchy mounted
 * at MOUNT of CONTROLLERS ("cpu,cpuacct"; "" for v2's), open for writing.
 * -1 with errno: ENOENT when it is in no such leaf.
 */
int join_cgroup_procs(int proc, const char *mount, const char *controllers, const char *leaf);

/* Its namespace KIND ("user", "mnt" ...), opened; *OURS when it is ours
 * already, or when this kernel has none of that kind (-1 then, errno 0).
 * -1 with errno. */
int join_namespace(int proc, const char *kind, int *ours);

#endif
