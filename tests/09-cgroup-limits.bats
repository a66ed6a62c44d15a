#!/usr/bin/env bats
# Stage 09: a cgroup of limits - memory, pids, cpu - and a cgroup namespace.
# The same tests prove both layouts: v1 here (controllers bound to v1), v2
# under make vmtest (cgroup v2 only).

load helpers

setup() {
	setup_stage 9
	ROOTFS_DIR=${ROOTFS:-$ROOT/rootfs}
	[ -x "$ROOTFS_DIR/bin/sh" ] || fail "no rootfs at $ROOTFS_DIR: run make rootfs"
	V2=""
	[ "$(stat -fc %T /sys/fs/cgroup)" != cgroup2fs ] || V2=1
}

teardown() {
	if [ -n "${SLEEPER:-}" ]; then
		kill "$SLEEPER"
		wait "$SLEEPER" 2>/dev/null || true
		rmdir "$TAKEN"
	fi
	if [ -n "${SCRATCH_CGROUP:-}" ]; then
		rmdir "$SCRATCH_CGROUP/delegated/inner" "$SCRATCH_CGROUP/delegated" "$SCRATCH_CGROUP" 2>/dev/null || true
	fi
	teardown_stage
}

stage9() { "$STAGE" -r "$ROOTFS_DIR" "$@"; }

# A limit's file inside: v2 has one directory, v1 one per controller.
inside() { if [ -n "$V2" ]; then echo "/sys/fs/cgroup/$2"; else echo "/sys/fs/cgroup/$1/$2"; fi; }
# The stage's cgroup on the host for a controller: stage9-PID, wherever.
host_cgroup() { stage_cgroups | grep "/stage9-$1\$" | { if [ -n "$V2" ]; then cat; else grep "/$2/"; fi; }; }

@test "stage9: a fork loop stops at --pids with a fork error, and pid 1 lives on" {
	# pid 1 and the looping shell are 2 of the 10: 8 sleeps fit.
	run stage9 -q --pids 10 sh -c 'sh -c "i=0; while sleep 1000 & do i=\$((i+1)); echo \$i >/dev/started; done"
		read n </dev/started; echo "started $n; pid 1 lives on"'
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	[[ $output == *"can't fork"* ]] || fail "no fork error: $output"
	[ "${lines[-1]}" = "started 8; pid 1 lives on" ] || fail "$output"
}

@test "stage9: an allocation past --memory is OOM-killed, the stage exits 137, and the host counts the kill" {
	before=$(awk '$1 == "oom_kill" { print $2 }' /proc/vmstat)
	run stage9 -q --memory 32M dd if=/dev/zero of=/dev/null bs=64M count=1
	[ "$status" -eq 137 ] || fail "exit $status: $output"
	after=$(awk '$1 == "oom_kill" { print $2 }' /proc/vmstat)
	[ "$after" -gt "$before" ] || fail "oom_kill in /proc/vmstat: $before, then $after"
	run stage9 -q --memory 128M dd if=/dev/zero of=/dev/null bs=64M count=1
	[ "$status" -eq 0 ] || fail "under a limit it fits, exit $status: $output"
}

@test "stage9: a busy loop under --cpus 0.2 is throttled, and the limit reads 20 ms per 100 ms" {
	start_stage 9 -r "$ROOTFS_DIR" --cpus 0.2 sh -c 'while :; do :; done'
	cpu=$(host_cgroup "$STAGE_PID" cpu)
	[ -n "$cpu" ] || fail "no cgroup for stage $STAGE_PID: $(stage_cgroups)"
	if [ -n "$V2" ]; then
		[ "$(cat "$cpu/cpu.max")" = "20000 100000" ] || fail "cpu.max: $(cat "$cpu/cpu.max")"
	else
		[ "$(cat "$cpu/cpu.cfs_quota_us") $(cat "$cpu/cpu.cfs_period_us")" = "20000 100000" ] || fail "cfs"
	fi
	throttled() { [ "$(awk '$1 == "nr_throttled" { print $2 }' "$cpu/cpu.stat")" -gt 0 ]; }
	wait_until throttled || fail "$(cat "$cpu/cpu.stat")"
	kill -TERM "$CHILD" 2>/dev/null || true
	kill -KILL "$CHILD"
	wait_stage
}

# The container's cgroup is the leaf below its limits: inside, its top is
# that leaf (v2: no pids.max there at all; v1: one that says max).
@test "stage9: inside, /proc/self/cgroup is the root, read-only at /sys/fs/cgroup, and the limits are above it, out of sight" {
	run stage9 -q --pids 33 sh -c "cat /proc/self/cgroup; echo; cat $(inside pids pids.max) 2>/dev/null; echo 1 >$(inside pids pids.max) || echo refused"
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	cgroups=${output%%$'\n\n'*}
	[ -z "$(grep -v ':/$' <<<"$cgroups")" ] || fail "not the root: $cgroups"
	[[ $output != *$'\n33\n'* ]] || fail "the limit is in sight: $output"
	[[ $output == *"Read-only file system"*refused* ]] || fail "$output"
}

# Root inside (uid 0 under sudo) mounts a cgroup filesystem of its own and
# writes "no limit" into what it finds there: the limit on the host holds.
@test "stage9: root inside cannot raise its memory limit, even through a cgroup mount of its own" {
	mount=(mount -t cgroup -o memory none /tmp/m)
	[ -z "$V2" ] || mount=(mount -t cgroup2 none /tmp/m)
	start_stage 9 -r "$ROOTFS_DIR" --memory 64M sh -c 'mount -t tmpfs tmpfs /tmp && mkdir /tmp/m && "$@" &&
		echo mounted && for f in memory.max memory.memsw.limit_in_bytes memory.limit_in_bytes; do
			[ ! -e /tmp/m/$f ] || echo -1 >/tmp/m/$f || echo max >/tmp/m/$f; done; exec sleep 1000' sh "${mount[@]}"
	wait_until command_is "$CHILD" sleep
	grep -qx mounted "$TEST_TMP/out" || fail "root inside could not mount its cgroups: $(cat "$TEST_TMP/out")"
	memory=$(host_cgroup "$STAGE_PID" memory)
	limit=$memory/memory.limit_in_bytes
	[ -z "$V2" ] || limit=$memory/memory.max
	[ "$(cat "$limit")" = 67108864 ] || fail "$limit: $(cat "$limit"): $(cat "$TEST_TMP/out")"
}

@test "stage9: from the host, the container is in stage9-PID/container, below the limits, in a new cgroup namespace" {
	start_stage 9 -r "$ROOTFS_DIR" --pids 21 sleep 1000
	pids=$(host_cgroup "$STAGE_PID" pids)
	[ "$(cat "$pids/pids.max")" = 21 ] || fail "$pids: $(cat "$pids/pids.max")"
	[ -z "$(cat "$pids/cgroup.procs")" ] || fail "processes beside the limits: $(cat "$pids/cgroup.procs")"
	grep -qx "$CHILD" "$pids/container/cgroup.procs" ||
		fail "the child is not in $pids/container: $(cat "/proc/$CHILD/cgroup")"
	assert_new_namespaces_from_host "user uts ipc pid mnt net cgroup"
}

@test "stage9: nothing of the cgroups is left on the host the moment the stage returns" {
	run stage9 -q sh -c 'sleep 1000 & sleep 1000 & exit 3'
	[ "$status" -eq 3 ] || fail "exit $status: $output"
	[ "$(stage_cgroups)" = "$HOST_CGROUPS" ] || fail "left: $(stage_cgroups)"
}

@test "stage9: a failed start removes its cgroups too" {
	start_stage 9 -r "$ROOTFS_DIR" --net 7 sleep 1000
	wait_until test -e /sys/class/net/stage8-7
	run stage9 -q --net 7 true
	[ "$status" -eq 125 ] || fail "exit $status: $output"
	[[ $output == *"that --net block is in use"* ]] || fail "$output"
	[ "$(stage_cgroups | grep -vc "/stage9-$STAGE_PID\$")" -eq "$(grep -c . <<<"$HOST_CGROUPS")" ] ||
		fail "the failed stage left: $(stage_cgroups)"
}

# Its container dies with it (PR_SET_PDEATHSIG): the cgroups it leaves are
# empty, and the next start's sweep removes them with rmdir alone.
# Under sudo, root inside owns its leaf: with a cgroup filesystem of its own,
# mounted read-write, it makes cgroups there. They go with the stage's.
@test "stage9: cgroups root inside made below its own go when the stage returns" {
	mount=(mount -t cgroup -o pids none /tmp/m)
	[ -z "$V2" ] || mount=(mount -t cgroup2 none /tmp/m)
	run stage9 -q sh -c 'mount -t tmpfs tmpfs /tmp && mkdir /tmp/m && "$@" && mkdir -p /tmp/m/a/b && echo made' \
		sh "${mount[@]}"
	[ "$status" -eq 0 ] && [ "$output" = made ] || fail "exit $status: $output"
	[ "$(stage_cgroups)" = "$HOST_CGROUPS" ] || fail "left: $(stage_cgroups)"
}

@test "stage9: after kill -9 of the stage, the next start removes the cgroups it left" {
	start_stage 9 -r "$ROOTFS_DIR" sleep 1000
	dead=$STAGE_PID dead_child=$CHILD
	kill -KILL "$STAGE_PID"
	wait_stage
	wait_until process_gone "$dead_child"
	[ -n "$(stage_cgroups | grep "/stage9-$dead\$")" ] || fail "nothing was left to remove: $(stage_cgroups)"
	run stage9 -q true
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	[ "$(stage_cgroups)" = "$HOST_CGROUPS" ] || fail "left: $(stage_cgroups)"
}

@test "stage9: two containers at once have a cgroup each, and neither removes the other's" {
	start_stage 9 -r "$ROOTFS_DIR" sleep 1000
	first=$STAGE_PID first_child=$CHILD
	# shellcheck disable=SC2034 # MORE_STAGES: teardown kills it if the test fails
	MORE_STAGES=$first
	start_stage 9 -r "$ROOTFS_DIR" sleep 1000
	[ "$(host_cgroup "$first" pids)" != "$(host_cgroup "$STAGE_PID" pids)" ] || fail "$(stage_cgroups)"
	kill -KILL "$CHILD"
	wait_stage
	[ -n "$(host_cgroup "$first" pids)" ] || fail "the first's cgroup went with the second"
	grep -qx "$first_child" "$(host_cgroup "$first" pids)/container/cgroup.procs"
}

# A stage in a PID namespace of its own sees no pid of the running stage's:
# to its sweep that cgroup looks like a dead stage's. It may only rmdir it,
# which its members refuse (EBUSY): no kill, nothing of it read or written.
@test "stage9: a start in another PID namespace leaves a running container's cgroup alone" {
	require_strace
	start_stage 9 -r "$ROOTFS_DIR" sleep 1000
	first=$(host_cgroup "$STAGE_PID" pids)
	run strace -f -qq -o "$TEST_TMP/trace" -e trace=kill,openat,rmdir \
		unshare --pid --fork --mount-proc "$STAGE" -q -r "$ROOTFS_DIR" true
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	kill -0 "$CHILD" || fail "the first container died"
	grep -qx "$CHILD" "$first/container/cgroup.procs" || fail "not in its cgroup: $(cat "/proc/$CHILD/cgroup")"
	! grep -E "stage9-$STAGE_PID/(container/)?cgroup\.|kill\([0-9]+, SIGKILL" "$TEST_TMP/trace" ||
		fail "the second stage reached into the first's cgroup"
}

# In a PID namespace of its own a stage is pid 1, and its cgroup's name is
# stage9-1. Where one of that name is there already, busy with another's
# process, the start is refused with one line - and nothing in that cgroup
# is killed: a stage kills only in cgroups it made itself.
@test "stage9: a cgroup name already taken is refused, and nothing in that cgroup is killed" {
	TAKEN=/sys/fs/cgroup/stage9-1
	[ -n "$V2" ] || TAKEN=/sys/fs/cgroup/memory/stage9-1
	sleep 1000 &
	SLEEPER=$!
	mkdir "$TAKEN"
	echo "$SLEEPER" >"$TAKEN/cgroup.procs"
	run unshare --pid --fork --mount-proc "$STAGE" -q -r "$ROOTFS_DIR" true
	[ "$status" -eq 125 ] || fail "exit $status: $output"
	same "$output" "stage9: parent: make the cgroup: File exists"
	kill -0 "$SLEEPER" || fail "the process in $TAKEN was killed"
}

# systemd before v252 delegates memory and pids, not cpu: a cgroup2 tree
# whose top has no cpu controller to hand down, as the stage's own view
# (a cgroup namespace and a cgroup2 mount of its own). Here, with memory,
# pids and cpu bound to v1, its top has none of the three.
@test "stage9: where its parent cgroup has no cpu controller, the container runs with the limits there are, and the line says which are missing" {
	v2=$(findmnt -n -t cgroup2 -o TARGET | head -n 1)
	[ -n "$v2" ] || skip "needs a cgroup2 hierarchy"
	SCRATCH_CGROUP=$v2/stage-test-$$
	mkdir -p "$SCRATCH_CGROUP/delegated"
	for controller in memory pids; do
		! grep -qw "$controller" "$SCRATCH_CGROUP/cgroup.controllers" ||
			echo "+$controller" >"$SCRATCH_CGROUP/cgroup.subtree_control"
	done
	bash -c 'echo $$ >"$1/delegated/cgroup.procs" && exec unshare --cgroup --mount sh -c \
		"mount -t tmpfs tmpfs /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup && mkdir /sys/fs/cgroup/inner &&
		 echo \$\$ >/sys/fs/cgroup/inner/cgroup.procs && exec \"\$0\" -q -r \"\$1\" --pids 33 sleep 1000" "$2" "$3"' \
		bash "$SCRATCH_CGROUP" "$STAGE" "$ROOTFS_DIR" >"$TEST_TMP/out" 2>&1 3>&- &
	STAGE_PID=$!
	# The same pid runs bash, unshare, sh (whose mount has a moment as its
	# child), and then the stage.
	wait_until command_is "$STAGE_PID" stage9
	wait_until has_child "$STAGE_PID"
	CHILD=$(first_child_of "$STAGE_PID")
	wait_until command_is "$CHILD" sleep
	[[ $(cat "$TEST_TMP/out") == "stage9: no limit on "*cpu*": no such controller here is ours to use" ]] ||
		fail "$(cat "$TEST_TMP/out")"
	ours=$(ls -d "$SCRATCH_CGROUP"/delegated/stage9-*)
	[ ! -e "$ours/cpu.max" ] || fail "a cpu limit after all: $(cat "$ours/cpu.max")"
	# Where pids was handed down (v2 with every controller), its limit holds.
	! grep -qw pids "$SCRATCH_CGROUP/delegated/cgroup.controllers" || [ "$(cat "$ours/pids.max")" = 33 ] ||
		fail "pids.max: $(cat "$ours/pids.max")"
	kill -KILL "$CHILD"
	wait_stage
}

@test "stage9: as an ordinary user with no cgroup to write, it runs without limits, and says so" {
	cp "$STAGE" "$TEST_TMP/stage9"
	copy_rootfs "$TEST_TMP/rootfs"
	run bash -c 'cd "$1" && exec setpriv --reuid=65534 --regid=65534 --clear-groups ./stage9 -r rootfs true' bash "$TEST_TMP"
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	[[ $output == *"stage9: no cgroup here that uid 65534 can write: the container runs without limits"* ]] || fail "$output"
}

@test "stage9: a bad --memory, --pids or --cpus is the usage and 125" {
	# LLONG_MAX / 2 + 1, twice which (v1's memory and swap) overflows; and
	# a number past LLONG_MAX, which strtoll() clamps to it (ERANGE).
	for bad in "--memory 4611686018427387904" "--memory 99999999999999999999" \
		"--memory 0" "--memory 12X" "--memory 5MB" "--pids 0" "--pids x" "--cpus 0.001" "--cpus 1e9" "--cpus half"; do
		# shellcheck disable=SC2086 # the option and its value are two words
		run stage9 -q $bad true
		[ "$status" -eq 125 ] || fail "$bad: exit $status"
		[[ ${lines[0]} == "usage: "* ]] || fail "$bad: $output"
	done
}
