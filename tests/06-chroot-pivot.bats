#!/usr/bin/env bats
# Stage 06: a root filesystem of the container's own, by pivot_root (the
# default) or chroot (--chroot), with /dev, /proc and a read-only /sys.
# ROOTFS (from make) is the rootfs under test; ./rootfs by default.

load helpers

setup() {
	setup_stage 6
	ROOTFS_DIR=${ROOTFS:-$ROOT/rootfs}
	[ -x "$ROOTFS_DIR/bin/sh" ] || fail "no rootfs at $ROOTFS_DIR: run make rootfs"
	HOST_MARKER="/stage6-test-$$"
}

teardown() {
	rm -f "$HOST_MARKER"
	teardown_stage
}

stage6() { "$STAGE" -r "$ROOTFS_DIR" "$@"; }

@test "stage6: / inside is the rootfs, and a file on the host's / is not there" {
	touch "$HOST_MARKER"
	run stage6 -q sh -c "ls /; if test -e $HOST_MARKER; then echo 'host file visible'; fi"
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	[ "$output" = "$(ls "$ROOTFS_DIR")" ] || fail "ls / inside: $output"
}

@test "stage6: under pivot_root no mount inside is the old root's" {
	run stage6 -q cat /proc/self/mountinfo
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	targets=$(awk '{ print $5 }' <<<"$output" | sort | tr '\n' ' ')
	[ "$targets" = "/ /dev /dev/full /dev/null /dev/random /dev/tty /dev/urandom /dev/zero /proc /sys " ] ||
		fail "mounts inside: $targets"
}

@test "stage6: nsenter -m into a running container sees the rootfs under pivot_root" {
	touch "$HOST_MARKER"
	start_stage 6 -r "$ROOTFS_DIR" -q sleep 1000
	wait_until command_is "$CHILD" sleep
	assert_new_namespaces_from_host "uts ipc pid mnt"
	[ "$(nsenter -t "$CHILD" -m ls /)" = "$(ls "$ROOTFS_DIR")" ] || fail "nsenter -m ls /: $(nsenter -t "$CHILD" -m ls /)"
}

@test "stage6: nsenter -m into a running container sees the host's / under --chroot" {
	touch "$HOST_MARKER"
	start_stage 6 -r "$ROOTFS_DIR" --chroot -q sleep 1000
	wait_until command_is "$CHILD" sleep
	[ "$(readlink "/proc/$CHILD/root")" = "$(realpath "$ROOTFS_DIR")" ] # the process's own root
	[ "$(nsenter -t "$CHILD" -m ls /)" = "$(ls /)" ] || fail "nsenter -m ls /: $(nsenter -t "$CHILD" -m ls /)"
	nsenter -t "$CHILD" -m test -e "$HOST_MARKER"
}

# The classic way out of a chroot, for a root process: chroot into a
# subdirectory without entering it, so the working directory is left outside
# the new root, climb with "..", and chroot to where the climb ends. Under
# pivot_root the climb ends at the rootfs's own /.
ESCAPE_C='
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	mkdir("/deeper", 0700);
	if (argc < 2 || chroot("/deeper") < 0)
		return 2;
	for (int i = 0; i < 64; i++)
		if (chdir("..") < 0)
			return 3;
	if (chroot(".") < 0)
		return 4;
	execl("/bin/sh", "sh", "-c", argv[1], (char *)0);
	return 5;
}'

@test "stage6: the classic chroot escape reaches the host under --chroot, and only the rootfs under pivot_root" {
	command -v cc >/dev/null || skip "needs a C compiler: sudo apt-get install gcc libc6-dev"
	copy_rootfs "$TEST_TMP/rootfs"
	cc -static -o "$TEST_TMP/rootfs/escape" -x c - <<<"$ESCAPE_C"
	touch "$HOST_MARKER"
	probe="test -e $HOST_MARKER && echo 'out: on the host' || echo 'still in the rootfs'"
	run "$STAGE" -q -r "$TEST_TMP/rootfs" --chroot /escape "$probe"
	[ "$output" = "out: on the host" ] || fail "--chroot: $status, $output"
	run "$STAGE" -q -r "$TEST_TMP/rootfs" /escape "$probe"
	[ "$output" = "still in the rootfs" ] || fail "pivot_root: $status, $output"
}

@test "stage6: /dev holds a few devices, /proc is the container's, /sys is read-only" {
	run stage6 -q sh -c 'ls /dev; ps -o pid= | wc -l; grep " /sys " /proc/self/mountinfo | cut -d" " -f6 | cut -d, -f1'
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	# ps, wc and sh: the container's three processes, and nothing of the host's
	[ "$(echo $output)" = "fd full null random stderr stdin stdout tty urandom zero 3 ro" ] || fail "$output"
}

@test "stage6: with no -r, the rootfs beside the binary, from any directory" {
	[ -x "$ROOT/rootfs/bin/sh" ] || fail "no $ROOT/rootfs: run make rootfs"
	cd "$TEST_TMP"
	run "$STAGE" -q sh -c 'test -e /etc/stage-rootfs && echo found'
	same "$output" found
}

@test "stage6: a missing rootfs is 125, naming it, with the make rootfs hint" {
	run "$STAGE" -q -r "$TEST_TMP/none" true
	[ "$status" -eq 125 ] || fail "exit $status: $output"
	same "$output" "stage6: rootfs $TEST_TMP/none: No such file or directory (run 'make rootfs' first)"
}

# ipcmk is on the host, not in the rootfs: the container's own execvp()
# looks for it, after the switch, and its mounts go with its namespace.
@test "stage6: a command that is in the host's PATH but not in the rootfs is 127" {
	command -v ipcmk >/dev/null
	[ ! -e "$ROOTFS_DIR/usr/bin/ipcmk" ] && [ ! -e "$ROOTFS_DIR/bin/ipcmk" ]
	capture "$STAGE" -q -r "$ROOTFS_DIR" ipcmk
	[ "$status" -eq 127 ] || fail "exit $status: $output"
	same "$output" "stage6: cannot run 'ipcmk': No such file or directory"
	[ "$(cat /proc/self/mountinfo)" = "$HOST_MOUNTS" ] || fail "the host's mount table changed"
}

@test "stage6: the hostname and pid 1 still hold" {
	run stage6 -q sh -c 'echo "$(hostname) $$"'
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	same "$output" "container 1"
}
