/*
 * keep.c - the --keep directory of stage 10 (keep.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keep.h"

static const char *const layers[] = { "upper", "work", "merged" };
#define LAYERS (sizeof(layers) / sizeof(layers[0]))

/* Root inside's ids outside (keep_owner()); -1 until said. */
static struct {
	uid_t uid;
	gid_t gid;
} owner = { (uid_t)-1, (gid_t)-1 };

void keep_owner(uid_t uid, gid_t gid)
{
	owner.uid = uid;
	owner.gid = gid;
}

/*
 * The first run's DIR: made as DIR.new-XXXXXX beside it (mode 0700: the
 * upper layer holds files of the container's root, set-user-ID ones too),
 * given to the owner - root inside, outside - then renamed into place whole, so
 * that no run sees half of one. The upper's mode is the container's /: 0755
 * whatever the umask, as docker's is. Another run's DIR, there first, is
 * left to the check.
 */
static int make_layers(const char *dir)
{
	char made[PATH_MAX];
	int fd = -1, err;
	size_t i;

	if (snprintf(made, sizeof(made), "%s.new-XXXXXX", dir) >= (int)sizeof(made)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (!mkdtemp(made))
		return -1;
	fd = open(made, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (i = 0; fd >= 0 && i < LAYERS; i++)
		if (mkdirat(fd, layers[i], 0755) < 0 || fchmodat(fd, layers[i], 0755, 0) < 0 ||
		    fchownat(fd, layers[i], owner.uid, owner.gid, AT_SYMLINK_NOFOLLOW) < 0)
			break;
	if (fd >= 0 && i == LAYERS && fchown(fd, owner.uid, owner.gid) == 0 &&
	    renameat2(AT_FDCWD, made, AT_FDCWD, dir, RENAME_NOREPLACE) == 0) {
		close(fd);
		return 0;
	}
	/* Not renamed: a failure, or EEXIST - another run's DIR came first. */
	err = errno;
	for (i = 0; fd >= 0 && i < LAYERS; i++)
		unlinkat(fd, layers[i], AT_REMOVEDIR);
	if (fd >= 0)
		close(fd);
	rmdir(made);
	errno = err;
	return err == EEXIST ? 0 : -1;
}

/* Is NAME, in DIR, one of the layers, and a directory (not a symlink)? */
static int is_layer(int dir, const char *name)
{
	struct stat st;

	for (size_t i = 0; i < LAYERS; i++)
		if (strcmp(name, layers[i]) == 0)
			return fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			       S_ISDIR(st.st_mode);
	return 0;
}

/* The owner's alone, which may write it, and no one else may. Else
 * another user could plant what the container runs, or swap a layer for a
 * link to a host directory between our look and the child's mount. DIR
 * itself is closed to all others (0700, as make_layers() makes it): under
 * sudo the upper layer holds files of the host's root, set-user-ID ones too. */
static int ours_alone(const struct stat *st, mode_t closed)
{
	return st->st_uid == owner.uid && (st->st_mode & S_IWUSR) && !(st->st_mode & closed);
}

/* Does DIR hold the layers and nothing else? -1 with errno if unreadable. */
static int holds_layers_only(int dir)
{
	int copy = fcntl(dir, F_DUPFD_CLOEXEC, 0); /* closedir() closes its own */
	DIR *listing = copy < 0 ? NULL : fdopendir(copy);
	struct dirent *entry;
	size_t found = 0;
	int only = 1, err;

	if (!listing) {
		if (copy >= 0)
			close(copy);
		return -1;
	}
	while (only && (errno = 0, entry = readdir(listing))) {
		if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
			continue;
		if (is_layer(dir, entry->d_name))
			found++;
		else
			only = 0;
	}
	err = only ? errno : 0;
	if (closedir(listing) < 0 || err) {
		errno = err ? err : errno;
		return -1;
	}
	return only && found == LAYERS;
}

int keep_open(const char *dir)
{
	struct stat st;
	int fd, ok, err;

	if (owner.uid == (uid_t)-1)
		keep_owner(geteuid(), getegid());
	if (access(dir, F_OK) < 0 && (errno != ENOENT || make_layers(dir) < 0))
		return -1;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		goto fail;
	ok = holds_layers_only(fd);
	if (ok <= 0) {
		if (ok == 0)
			errno = EEXIST;
		goto fail;
	}
	/* Root's W_OK is always yes: the owner and the modes say whose it is. */
	errno = EACCES;
	if (fstat(fd, &st) < 0 || !ours_alone(&st, S_IRWXG | S_IRWXO))
		goto fail;
	for (size_t i = 0; i < LAYERS; i++)
		if (fstatat(fd, layers[i], &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !ours_alone(&st, S_IWGRP | S_IWOTH))
			goto fail;
	return fd;
fail:
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

int keep_enter(int fd, const char *dir)
{
	struct stat kept, here;

	if (chdir(dir) < 0 || stat(".", &here) < 0 || fstat(fd, &kept) < 0)
		return -1;
	if (here.st_dev != kept.st_dev || here.st_ino != kept.st_ino) {
		errno = ESTALE;
		return -1;
	}
	return 0;
}

const char *keep_hint(int err)
{
	if (err == EEXIST)
		return "it is not a directory the stage made: give --keep a new path";
	if (err == EWOULDBLOCK)
		return "another container runs on it";
	if (err == EACCES)
		return "it and its layers must be root inside's, and it closed to others (0700): "
		       "give --keep a new path";
	return NULL;
}
