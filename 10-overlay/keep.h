/*
 * keep.h - the host directory of stage 10's --keep, which its lesson leaves
 * out of main.c: made on the first run, checked and locked on every run.
 */
#ifndef KEEP_H
#define KEEP_H

/*
 * DIR, made with its three directories - upper, work and merged - if it does
 * not exist; if it does, it must hold those and nothing else (EEXIST), so
 * that nothing of the user's is written into. Then locked (EWOULDBLOCK: in
 * use): two overlays on one upper layer would corrupt it, and the kernel only
 * warns. Returns the lock, a descriptor to keep open while the container runs.
 */
int keep_open(const char *dir);

/* What to do about keep_open()'s ERR, if we know: a hint for the error line. */
const char *keep_hint(int err);

#endif
