/*
 * name.h - a running container's name, which stage 12's lesson leaves out
 * of main.c: claimed by the stage that runs it, found by `exec NAME`.
 */
#ifndef NAME_H
#define NAME_H

#include <sys/types.h>

/* Letters, digits, '_', '.' and '-', at most NAME_MAX_LEN, as docker's. */
#define NAME_MAX_LEN 64
int name_valid(const char *name);

/*
 * *NAME claimed for us: an abstract unix socket, "@PREFIX/NAME", bound in
 * our network namespace. The kernel binds a name once (EADDRINUSE) and frees
 * it with the last descriptor of the socket, even after kill -9: there is no
 * file to write, nor one to sweep. A NULL *NAME becomes our pid, or PID-2,
 * PID-3 ... where a stage in another PID namespace has it. Not listening
 * yet: exec refuses to join until name_ready() says the command runs.
 * Returns the socket.
 */
int name_claim(const char *prefix, const char **name);
int name_ready(int sock);

/*
 * The first process of the container named NAME, found through /proc as
 * `ss -xp` would: the socket in /proc/net/unix, the stage holding it (its
 * pid in *STAGE), its child. Returns a descriptor of that process's /proc
 * directory, held so that its pid is never another's; its pid in *PID.
 * -1 with errno: ENOENT, none of that name; EAGAIN, it is still starting;
 * EPERM, another user's; ESRCH, it ended while we looked; else /proc's.
 */
int name_find(const char *prefix, const char *name, pid_t *pid, pid_t *stage);

/* What ERR means, in words, for the error line: from name_find() when
 * WHEN is ERR; ESRCH, after it, from the found process's /proc files. */
const char *name_hint(int when, int err);

#endif
