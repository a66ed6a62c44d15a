/*
 * caps.h - the capabilities' names, as docker's --cap-add and --cap-drop
 * take them: capabilities(7)'s, with or without "CAP_", in any case.
 */
#ifndef CAPS_H
#define CAPS_H

#define ALL_CAPS (1ULL << 63) /* "ALL": a bit that no capability has */

/* CHOWN, cap_chown or ALL: its bit (1 << CAP_CHOWN), or 0 if none has that name. */
unsigned long long cap_bit(const char *name);

#endif
