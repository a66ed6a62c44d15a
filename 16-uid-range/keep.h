/*
 * keep.h - the host directory of stage 10's --keep, which its lesson leaves
 * out of main.c: made on the first run, checked and locked on every run.
 */
#ifndef KEEP_H
#define KEEP_H

#include <sys/types.h>

/*
 * DIR, made with its three directories - upper, work and merged - if it does
 * not exist; if it does, it must hold those and nothing else (EEXIST), so
 * that nothing of the user's is written into, and it and each of them must
 * be the owner's alone - keep_owner()'s: root inside's uid outside, a
 * range's - and no one else's to write; DIR no one else's to enter (EACCES).
 * Locked first (EWOULDBLOCK: in use): two overlays on one upper layer would
 * corrupt it, and the kernel only warns. Returns the lock, a descriptor of
 * DIR to keep open, and to go into, while the container runs. (A kill -9
 * frees the lock at once; the dying container's overlay goes a moment later.)
 */
int keep_open(const char *dir);

/* Whose DIR and its layers are to be: root inside's ids outside, ours unless
 * said before keep_open() - stage 16 says its range's START. */
void keep_owner(uid_t uid, gid_t gid);

/* Into DIR, by its path from the container's mount namespace - the
 * overlay refuses an upper layer reached through a mount of the host's, as
 * FD's is (EINVAL) - and only while it is the directory FD holds (ESTALE). */
int keep_enter(int fd, const char *dir);

/* What to do about keep_open()'s ERR, if we know: a hint for the error line. */
const char *keep_hint(int err);

#endif
