/*
 * name.c - a container's name, for stage 12 (name.h): an abstract unix
 * socket, and /proc to find who holds it. No file, no daemon.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "name.h"

/* The kernel's flag for a listening socket, in /proc/net/unix. */
#define UNIX_LISTENING 0x10000

int name_valid(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > NAME_MAX_LEN || !isalnum((unsigned char)name[0]))
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("_.-", name[i]))
			return 0;
	return 1;
}

static int bind_name(const char *prefix, const char *name)
{
	struct sockaddr_un address = { .sun_family = AF_UNIX };
	int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int len;

	if (sock < 0)
		return -1;
	/* A first byte of 0 puts the name in the abstract namespace. */
	len = snprintf(address.sun_path + 1, sizeof(address.sun_path) - 1, "%s/%s", prefix, name);
	if (bind(sock, (struct sockaddr *)&address,
		 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + len)) < 0) {
		int err = errno;

		close(sock);
		errno = err;
		return -1;
	}
	return sock;
}

int name_claim(const char *prefix, const char **name)
{
	static char own[32];
	int sock, n = 1, len;

	if (*name)
		return bind_name(prefix, *name);
	do {
		len = snprintf(own, sizeof(own), "%ld", (long)getpid());
		if (n > 1)
			snprintf(own + len, sizeof(own) - len, "-%d", n);
		sock = bind_name(prefix, own);
	} while (sock < 0 && errno == EADDRINUSE && n++ < 100);
	*name = own;
	return sock;
}

/* No one is ever accepted: a backlog of 0 queues at most one caller. */
int name_ready(int sock)
{
	return listen(sock, 0);
}

/* "Num RefCount Protocol Flags Type St Inode Path": the inode of the socket
 * bound to @PREFIX/NAME, and whether it listens; 0, with errno, when none
 * is (ENOENT) or the file cannot be read. */
static unsigned long socket_named(const char *prefix, const char *name, int *listening)
{
	char line[512], want[128];
	unsigned long found = 0;
	FILE *sockets = fopen("/proc/net/unix", "re");

	if (!sockets)
		return 0;
	snprintf(want, sizeof(want), "@%s/%s", prefix, name);
	/* A caller queued on it shows with its name too: the listener wins. */
	while (!*listening && fgets(line, sizeof(line), sockets)) {
		char *field[8], *save = NULL;
		int n = 0;

		for (char *word = strtok_r(line, " \n", &save); word && n < 8;
		     word = strtok_r(NULL, " \n", &save))
			field[n++] = word;
		if (n < 8 || strcmp(field[7], want) != 0)
			continue;
		found = strtoul(field[6], NULL, 10);
		*listening = (strtoul(field[3], NULL, 16) & UNIX_LISTENING) != 0;
	}
	if (fclose(sockets) != 0)
		return 0;
	errno = found ? 0 : ENOENT;
	return found;
}

/* Does the process of /proc directory PROC hold socket INODE? Another
 * user's descriptors are not ours to read (EACCES): no. */
static int holds_socket(int proc, unsigned long inode)
{
	char want[64], link[64];
	int fds = openat(proc, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC), found = 0;
	DIR *dir = fds < 0 ? NULL : fdopendir(fds);
	struct dirent *entry;
	ssize_t n;

	if (!dir) {
		if (fds >= 0)
			close(fds);
		return 0;
	}
	snprintf(want, sizeof(want), "socket:[%lu]", inode);
	while (!found && (entry = readdir(dir))) {
		n = readlinkat(fds, entry->d_name, link, sizeof(link) - 1);
		found = n > 0 && (link[n] = '\0', strcmp(link, want) == 0);
	}
	closedir(dir);
	return found;
}

/* The parent's pid, from the 4th field of stat: after the command's name,
 * which may hold spaces and parentheses, so after its last ')'. */
static pid_t parent_of(int proc)
{
	char stat[512], *end, *stop;
	int fd = openat(proc, "stat", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, stat, sizeof(stat) - 1);
	long ppid;

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return -1;
	stat[n] = '\0';
	/* ") S 1234 ...": the state, then the parent. */
	end = strrchr(stat, ')');
	if (!end || strlen(end) < 5)
		return -1;
	ppid = strtol(end + 4, &stop, 10);
	return stop == end + 4 ? -1 : (pid_t)ppid;
}

/* The first process under /proc that MATCHES, held by its directory there,
 * its pid in *PID; -1 when none does (ESRCH), or /proc cannot be read. */
static int find_process(int (*matches)(int proc, unsigned long arg), unsigned long arg, pid_t *pid)
{
	DIR *all = opendir("/proc");
	struct dirent *entry;
	int proc = -1;

	if (!all)
		return -1;
	errno = 0;
	while (proc < 0 && (entry = readdir(all))) {
		if (!isdigit((unsigned char)entry->d_name[0]))
			continue;
		proc = openat(dirfd(all), entry->d_name, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (proc >= 0 && matches(proc, arg)) {
			*pid = (pid_t)strtol(entry->d_name, NULL, 10);
		} else if (proc >= 0) {
			close(proc);
			proc = -1;
		}
		errno = 0; /* a process gone meanwhile is not an error */
	}
	if (proc < 0 && errno == 0)
		errno = ESRCH;
	closedir(all);
	return proc;
}

static int child_of(int proc, unsigned long parent)
{
	return parent_of(proc) == (pid_t)parent;
}

int name_find(const char *prefix, const char *name, pid_t *pid, pid_t *stage_pid)
{
	int listening = 0, stage, first, err = ESRCH;
	unsigned long inode = socket_named(prefix, name, &listening);
	struct stat owner;

	if (!inode || !listening) {
		errno = inode ? EAGAIN : errno;
		return -1;
	}
	stage = find_process(holds_socket, inode, stage_pid);
	if (stage < 0 && errno == ESRCH) {
		/* Bound still, by no process we may look into: another user's.
		 * Or its stage has just ended, and the name with it. */
		listening = 0;
		errno = socket_named(prefix, name, &listening) == inode ? EPERM : ESRCH;
	}
	if (stage < 0)
		return -1;
	if (fstat(stage, &owner) < 0 || owner.st_uid != geteuid()) {
		close(stage);
		errno = EPERM;
		return -1;
	}
	/* Its one child, the container's first process; then the stage, alive
	 * still, proves that child's pid was not yet another's. */
	first = find_process(child_of, (unsigned long)*stage_pid, pid);
	if (first >= 0 && child_of(first, (unsigned long)*stage_pid) && holds_socket(stage, inode))
		err = 0;
	close(stage);
	if (err) {
		if (first >= 0)
			close(first);
		errno = err;
		return -1;
	}
	return first;
}

const char *name_hint(int when, int err)
{
	const char *hint = NULL;

	if (when == ESRCH && (err == ENOENT || err == ESRCH))
		hint = "it ended while we joined it";
	else if (err == ENOENT)
		hint = "no container of that name runs here";
	else if (err == EAGAIN)
		hint = "it is still starting: try again";
	else if (err == EPERM)
		hint = "it is another user's, not yours to join";
	else if (err == ESRCH)
		hint = "it ended";
	errno = err;
	return hint;
}
