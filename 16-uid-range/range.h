/*
 * range.h - which ids outside stage 16's root inside is, under sudo: a range
 * from /etc/subuid and /etc/subgid, as podman and docker's userns-remap take
 * it, or else a block that no one on this machine holds.
 */
#ifndef RANGE_H
#define RANGE_H

#define RANGE_COUNT 65536 /* uid_t's first 16 bits: every id an image uses */

struct id_range {
	unsigned long start; /* root inside is this id outside, */
	unsigned long count; /* and inside ids 0 .. count-1 are start .. start+count-1 */
};

/*
 * USER's first range in FILE (/etc/subuid: "name:start:count" a line; the
 * name may be the user's number, ID): 0, or -1 and errno ENOENT if USER has
 * none there. A range of more than RANGE_COUNT ids gives its first RANGE_COUNT.
 */
int subid_range(const char *file, const char *user, unsigned long id, struct id_range *range);

/*
 * The first block of RANGE_COUNT ids from 100000 up - where useradd starts
 * its subordinate ids - that no line of /etc/subuid or /etc/subgid holds, and
 * no user's uid or group's gid in /etc/passwd and /etc/group falls in.
 */
int free_range(struct id_range *range);

/*
 * Under sudo: the range of the user named by SUDO_USER (or numbered by
 * SUDO_UID, SUDO_GID) in /etc/subuid and /etc/subgid, as podman takes it,
 * else free_range()'s block for both: 0, or -1 with errno.
 */
int sudo_user_range(struct id_range *uids, struct id_range *gids);

/* "START:COUNT", as --userns-remap takes it: 0, or -1 if it is not one. */
int parse_range(const char *text, struct id_range *range);

#endif
