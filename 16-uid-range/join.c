/*
 * join.c - before exec joins a container (join.h): a sealed copy of our own
 * binary, and the container's cgroup and namespaces, from its /proc.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "join.h"

#define ALL_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

int join_from_sealed_copy(char **argv)
{
	int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC), copy, err;
	struct stat st;
	ssize_t n = 0;

	if (self < 0)
		return -1;
	if (fcntl(self, F_GET_SEALS) == ALL_SEALS)
		return close(self);
	/* MFD_CLOEXEC: fexecve() of an ELF binary still works, and the copy's
	 * descriptor does not outlive the exec. */
	copy = memfd_create(argv[0], MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (copy < 0 || fstat(self, &st) < 0)
		goto fail;
	for (off_t done = 0; done < st.st_size; done += n) {
		n = sendfile(copy, self, NULL, (size_t)(st.st_size - done));
		if (n <= 0) {
			errno = n < 0 ? errno : EIO;
			goto fail;
		}
	}
	if (fcntl(copy, F_ADD_SEALS, ALL_SEALS) < 0)
		goto fail;
	fexecve(copy, argv, environ);
fail:
	err = errno;
	close(self);
	if (copy >= 0)
		close(copy);
	errno = err;
	return -1;
}

int join_cgroup_procs(int proc, const char *mount, const char *controllers, const char *leaf)
{
	char line[4096], path[4096 + 128];
	int fd = openat(proc, "cgroup", O_RDONLY | O_CLOEXEC), procs = -1;
	FILE *cgroups = fd < 0 ? NULL : fdopen(fd, "re");
	char *at = NULL;

	if (!cgroups) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	/* Each line is "id:controllers:path"; v2's is "0::path". Root inside
	 * may have moved the process below the leaf: the leaf is still ours. */
	while (!at && fgets(line, sizeof(line), cgroups)) {
		char *list = strchr(line, ':'), *where = list ? strchr(list + 1, ':') : NULL;

		if (!where)
			continue;
		*list++ = *where++ = '\0';
		where[strcspn(where, "\n")] = '\0';
		at = strcmp(list, controllers) == 0 ? strstr(where, leaf) : NULL;
		if (at && at[strlen(leaf)] != '\0' && at[strlen(leaf)] != '/')
			at = NULL;
		if (at) {
			at[strlen(leaf)] = '\0';
			snprintf(path, sizeof(path), "%s%s/cgroup.procs", mount, where);
			procs = open(path, O_WRONLY | O_CLOEXEC);
		}
	}
	if (fclose(cgroups) != 0 && procs < 0)
		return -1;
	if (!at)
		errno = ENOENT;
	return procs;
}

int join_namespace(int proc, const char *kind, int *ours)
{
	char path[64];
	struct stat theirs, own;
	int fd, err;

	snprintf(path, sizeof(path), "/proc/self/ns/%s", kind);
	if (stat(path, &own) < 0 && errno == ENOENT) {
		*ours = 1; /* no such kind here: shared, as stage 11 runs without */
		errno = 0;
		return -1;
	}
	snprintf(path, sizeof(path), "ns/%s", kind);
	fd = openat(proc, path, O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof(path), "/proc/self/ns/%s", kind);
	if (fd < 0 || fstat(fd, &theirs) < 0 || stat(path, &own) < 0) {
		err = errno;
		if (fd >= 0)
			close(fd);
		errno = err;
		return -1;
	}
	*ours = theirs.st_ino == own.st_ino && theirs.st_dev == own.st_dev;
	return fd;
}
