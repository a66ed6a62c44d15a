/*
 * fdpass.h - a descriptor from the parent to the child, over a socketpair:
 * stage 16's idmapped image, made after the child is born, so that it
 * cannot inherit it. SCM_RIGHTS gives the child a descriptor of its own,
 * open on the same mount (unix(7)).
 */
#ifndef FDPASS_H
#define FDPASS_H

/* A byte on SOCK, with FD if it is not -1: 0, or -1 with errno. */
int send_fd(int sock, int fd);

/* That byte: the descriptor that came with it, -1 if none came (errno 0),
 * or -1 with errno. Close-on-exec. */
int recv_fd(int sock);

#endif
