#!/usr/bin/env bats
# Stage 16: under sudo, root inside is the first id of a range outside, and
# the image, the host root's, reads as root's inside through an idmapped
# mount. Each test runs the stage in a network namespace the test made,
# standing for the host, under sudo and, where it says, as an ordinary user
# (uid 65534). The range is --userns-remap's, START below, but in the test of
# the default, which gives the stage an /etc of the test's own.

load helpers

START=300000
REMAP="--userns-remap $START:65536"

setup() {
	setup_stage 16
	make_host_netns
	copy_rootfs "$TEST_TMP/rootfs"
	echo "u:x:1000:1000::/:/bin/sh" >>"$TEST_TMP/rootfs/etc/passwd"
	echo "u:x:1000:" >>"$TEST_TMP/rootfs/etc/group"
	cp "$STAGE" "$TEST_TMP/stage16"
	IMAGE=$(image_state)
}

teardown() {
	teardown_stage
}

# Every file of the image, its owner, group and mode: the stage changes none.
image_state() { (cd "$TEST_TMP/rootfs" && find . -printf '%U:%G %m %s %p\n' | sort); }

# as WHO [stage args...] [--] command...: run the stage from $TEST_TMP, as
# root (sudo) or as uid 65534 (user), in the test's host namespace, into
# bats' $output and $status; its own lines go to $TEST_TMP/err.
as() {
	local who=$1 stage
	shift
	stage=(./stage16 -q)
	[ "$1" = exec ] || stage+=(-r rootfs)
	stage+=("$@")
	# sudo gives root its groups (initgroups): the host's gid 0, at least.
	if [ "$who" = sudo ]; then stage=(setpriv --groups=0 "${stage[@]}")
	else stage=(setpriv --reuid=65534 --regid=65534 --clear-groups "${stage[@]}"); fi
	run in_host bash -c 'cd "$0" && exec "$@" 2>err' "$TEST_TMP" "${stage[@]}"
}

maps='cat /proc/self/uid_map /proc/self/gid_map | tr -s " " | sed "s/^ //"'

@test "stage16: under sudo root inside is a range's first id: SUDO_USER's in /etc/subuid and /etc/subgid, else the first free block" {
	# An /etc of the test's, in a mount namespace of its own: alice has a
	# range; bob's and a user's uid 170000 hold the blocks at 100000 and
	# 165536, and alice's overlaps 231072: the first free one is 296608.
	cp -a /etc "$TEST_TMP/etc"
	echo "alice:200000:65536" >"$TEST_TMP/etc/subuid"
	printf 'bob:100000:65536\nalice:200000:70000\n' >"$TEST_TMP/etc/subgid"
	echo "carol:x:170000:170000::/:/bin/sh" >>"$TEST_TMP/etc/passwd"
	local in_etc='mount --bind "$0/etc" /etc && cd "$0" && exec "$@"'
	run in_host unshare -m --propagation private bash -c "$in_etc" "$TEST_TMP" \
		env SUDO_USER=alice ./stage16 -q -r rootfs sh -c "$maps"
	same "$output" "$(printf '0 200000 65536\n0 200000 65536')"
	run in_host unshare -m --propagation private bash -c "$in_etc" "$TEST_TMP" \
		env -u SUDO_USER ./stage16 -q -r rootfs sh -c "$maps"
	same "$output" "$(printf '0 296608 65536\n0 296608 65536')"
	as sudo $REMAP -- sh -c "$maps; id -u; id -g"
	same "$output" "$(printf '0 %s 65536\n0 %s 65536\n0\n0' $START $START)"
}

@test "stage16: the image, the host root's, reads as root's inside through an idmapped mount, and never changes" {
	as sudo $REMAP -- sh -c 'stat -c "%u %g" / /bin/busybox /etc/passwd; echo x >/etc/motd; chown 1000 /bin; rm /bin/true'
	[ "$status" -eq 0 ] || fail "exit $status: $output $(cat "$TEST_TMP/err")"
	same "$output" "$(printf '0 0\n0 0\n0 0')"
	same "$(image_state)" "$IMAGE"
	# The stage says it, and no mount of it is left behind.
	run in_host bash -c 'cd "$0" && ./stage16 -r rootfs '"$REMAP"' true 2>&1' "$TEST_TMP"
	grep -q "child: the image is idmapped" <<<"$output" || fail "no idmapped line: $output"
}

@test "stage16: every id exists inside: chown 1000:1000 works, and so does su to uid 1000" {
	as sudo $REMAP -- sh -c 'touch /f && chown 1000:1000 /f && stat -c "%u %g" /f
		su u -c "id -u; id -g; touch /tmp/by-u" && stat -c %u /tmp/by-u'
	same "$output" "$(printf '1000 1000\n1000\n1000\n1000')"
}

@test "stage16: what root inside writes in a --keep layer is START's on the host" {
	as sudo $REMAP --keep keep -- sh -c 'echo x >/etc/kept; mkdir /d; chown 1000:1000 /d'
	[ "$status" -eq 0 ] || fail "exit $status: $output $(cat "$TEST_TMP/err")"
	same "$(stat -c '%u %g' "$TEST_TMP/keep" "$TEST_TMP/keep/upper" "$TEST_TMP/keep/upper/etc/kept" "$TEST_TMP/keep/upper/d")" \
		"$(printf '%s %s\n' $START $START $START $START $START $START $((START + 1000)) $((START + 1000)))"
}

# Opened for writing or reading, never written: the open is where the kernel
# says no. What root inside tries with every capability and no filter. Of a
# cgroup filesystem of its own: on v1 its memory limit; on v2 the limits are
# above its cgroup namespace's root (stage 09), and it tries cgroup.procs.
TRY='umount /proc/sys && ( : >>/proc/sys/kernel/core_pattern ) 2>&1 | sed "s/.*: //"
	mkdir /c && if [ -e /sys/fs/cgroup/memory ]; then mount -t cgroup -o memory none /c && f=memory.limit_in_bytes
		else mount -t cgroup2 none /c && f=cgroup.procs; fi
	( : >>/c/$f ) 2>&1 | sed "s/.*: //"
	cat /secret 2>&1 | sed "s/.*: //"'
UNCONFINED="--cap-add ALL --security-opt seccomp=unconfined"

@test "stage16: with stage 15's walls down, root inside still cannot touch the host: /proc/sys, its cgroup's files, a file of root's" {
	as sudo $REMAP --keep keep -- true
	echo secret >"$TEST_TMP/keep/upper/secret"
	# Root's, and its group's: the child came with the host's gid 0 as a group.
	chmod 0640 "$TEST_TMP/keep/upper/secret"
	# shellcheck disable=SC2086 # the options' words
	as sudo $REMAP $UNCONFINED --keep keep -- sh -c "$TRY"
	same "$output" "$(printf 'Permission denied\n%.0s' 1 2 3)"
	# The same container as the host's root (stage 15's map, in a range):
	# the same commands get through. A new keep: the old one is START's.
	mkdir "$TEST_TMP/keep0" && as sudo --userns-remap 0:65536 --keep keep0/k -- true
	cp -p "$TEST_TMP/keep/upper/secret" "$TEST_TMP/keep0/k/upper/secret"
	# shellcheck disable=SC2086
	as sudo --userns-remap 0:65536 $UNCONFINED --keep keep0/k -- sh -c "$TRY"
	same "$output" secret
}

@test "stage16: exec joins with the same map, as root inside" {
	local pid
	nsenter -t "$HOST_NS" -n -- bash -c 'cd "$0" && exec "$@"' "$TEST_TMP" \
		./stage16 -q -r rootfs $REMAP --keep keep --name c sh -c 'trap "exit 0" TERM; sleep 1000 & wait' \
		>/dev/null 2>&1 3>&- &
	pid=$!
	MORE_STAGES="$MORE_STAGES $pid"
	wait_until name_listens_of 16 c in_host
	as sudo exec c sh -c "$maps; id -u; grep -E '^(Uid|Groups)' /proc/self/status | tr -s '\t' ' '; touch /by-exec"
	same "$output" "$(printf '0 %s 65536\n0 %s 65536\n0\nUid: 0 0 0 0\nGroups: ' $START $START)"
	kill -TERM "$pid"
	wait "$pid" || fail "the stage exited $?"
	same "$(stat -c %u "$TEST_TMP/keep/upper/by-exec")" "$START"
}

@test "stage16: as a user, stage 07's map of one id stays, and --userns-remap is refused with 125" {
	chown -R 65534:65534 "$TEST_TMP/rootfs"
	as user -- sh -c "$maps; stat -c %u /etc/passwd"
	same "$output" "$(printf '0 65534 1\n0 65534 1\n0')"
	as user $REMAP -- true
	[ "$status" -eq 125 ] || fail "exit $status"
	grep -q "only root may map a range" "$TEST_TMP/err" || fail "$(cat "$TEST_TMP/err")"
}

@test "stage16: an image the kernel cannot idmap gives one line naming its filesystem, exit 125, and nothing left" {
	# An overlay is one, on 6.1 and on 6.18: made in a mount namespace of the test's.
	mkdir "$TEST_TMP"/{upper,work,merged}
	run in_host unshare -m --propagation private bash -c 'cd "$0" &&
		mount -t overlay -o lowerdir=rootfs,upperdir=upper,workdir=work overlay merged &&
		exec ./stage16 -q -r merged true' "$TEST_TMP"
	[ "$status" -eq 125 ] || fail "exit $status: $output"
	same "$(wc -l <<<"$output")" 1
	[[ $output == *"idmap the image"*"filesystem, overlay: put the image on ext4"* ]] || fail "$output"
	# A tmpfs is one before Linux 6.3, which taught it idmapped mounts.
	local major minor
	IFS=. read -r major minor _ <<<"$(uname -r)"
	run in_host unshare -m --propagation private bash -c 'cd "$0" && mount -t tmpfs tmpfs merged &&
		cp -a rootfs/. merged && exec ./stage16 -q -r merged stat -c %u /etc/passwd' "$TEST_TMP"
	if ((major > 6 || (major == 6 && minor >= 3))); then
		same "$output" 0
	else
		[ "$status" -eq 125 ] && [[ $output == *"filesystem, tmpfs: put"* ]] || fail "$status: $output"
	fi
}

@test "stage16: a copy of the image that START owns is taken as it is, with no idmapped mount" {
	chown -R "$START:$START" "$TEST_TMP/rootfs"
	run in_host bash -c 'cd "$0" && ./stage16 -r rootfs '"$REMAP"' stat -c "%u %g" /etc/passwd 2>err' "$TEST_TMP"
	same "$output" "0 0"
	! grep -q idmapped "$TEST_TMP/err" || fail "$(cat "$TEST_TMP/err")"
}
