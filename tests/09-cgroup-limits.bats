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

@test "stage9: inside, /proc/self/cgroup is the root, and the limits read under /sys/fs/cgroup, read-only" {
	run stage9 -q --memory 64M --pids 33 sh -c "cat /proc/self/cgroup; echo; cat $(inside pids pids.max) $(inside memory "$([ -n "$V2" ] && echo memory.max || echo memory.limit_in_bytes)"); echo 1 >$(inside pids pids.max) || echo refused"
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	cgroups=${output%%$'\n\n'*}
	[ -z "$(grep -v ':/$' <<<"$cgroups")" ] || fail "not the root: $cgroups"
	[[ $output == *$'\n33\n67108864\n'* ]] || fail "$output"
	[[ $output == *"Read-only file system"*refused* ]] || fail "$output"
}

@test "stage9: from the host, the container is in stage9-PID with the limits, in a new cgroup namespace" {
	start_stage 9 -r "$ROOTFS_DIR" --pids 21 sleep 1000
	pids=$(host_cgroup "$STAGE_PID" pids)
	[ "$(cat "$pids/pids.max")" = 21 ] || fail "$pids: $(cat "$pids/pids.max")"
	grep -qx "$CHILD" "$pids/cgroup.procs" || fail "the child is not in $pids: $(cat "/proc/$CHILD/cgroup")"
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

@test "stage9: after kill -9 of the stage, the next start removes the cgroups it left" {
	start_stage 9 -r "$ROOTFS_DIR" sleep 1000
	dead=$STAGE_PID
	kill -KILL "$STAGE_PID"
	wait_stage
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
	grep -qx "$first_child" "$(host_cgroup "$first" pids)/cgroup.procs"
}

@test "stage9: as an ordinary user with no cgroup to write, it runs without limits, and says so" {
	cp "$STAGE" "$TEST_TMP/stage9"
	copy_rootfs "$TEST_TMP/rootfs"
	run bash -c 'cd "$1" && exec setpriv --reuid=65534 --regid=65534 --clear-groups ./stage9 -r rootfs true' bash "$TEST_TMP"
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	[[ $output == *"stage9: no cgroup here that uid 65534 can write: the container runs without limits"* ]] || fail "$output"
}

@test "stage9: a bad --memory, --pids or --cpus is the usage and 125" {
	for bad in "--memory 0" "--memory 12X" "--memory 5MB" "--pids 0" "--pids x" "--cpus 0.001" "--cpus 1e9" "--cpus half"; do
		# shellcheck disable=SC2086 # the option and its value are two words
		run stage9 -q $bad true
		[ "$status" -eq 125 ] || fail "$bad: exit $status"
		[[ ${lines[0]} == "usage: "* ]] || fail "$bad: $output"
	done
}
