#!/usr/bin/env bats
# Stage 12: exec NAME joins a running container - every namespace of its
# first process, its cgroup, its root - and runs a command there as a child,
# not dumpable until its exec. A container's name is an abstract socket.

load helpers

setup() {
	setup_stage 12
	ROOTFS_DIR=${ROOTFS:-$ROOT/rootfs}
	[ -x "$ROOTFS_DIR/bin/sh" ] || fail "no rootfs at $ROOTFS_DIR: run make rootfs"
	HOST_NAMES=$(names_bound)
}

teardown() {
	teardown_stage
	[ "$(names_bound)" = "$HOST_NAMES" ] || fail "a name is still bound: $(names_bound)"
}

# The names stage 12's containers hold, as /proc/net/unix lists them.
names_bound() { awk '$NF ~ /^@stage12\// { print $NF }' /proc/net/unix | sort; }

name_listens() { name_listens_of 12 "$1"; }

# start_named NAME [stage args...]: a container named NAME, in the
# background, once exec can join it.
start_named() {
	local name=$1
	shift
	start_stage 12 -r "$ROOTFS_DIR" --name "$name" "$@"
	wait_until name_listens "$name"
}

# exec_bg NAME command...: exec in the background, its pid in EXEC_PID and
# its command's in JOINED, once that runs; killed by teardown if need be.
exec_bg() {
	"$STAGE" -q exec "$@" >"$TEST_TMP/exec.out" 2>&1 3>&- &
	EXEC_PID=$!
	MORE_STAGES=$EXEC_PID
	wait_until has_child "$EXEC_PID"
	JOINED=$(first_child_of "$EXEC_PID")
}

# A stage killed with -9 leaves its cgroups to the next start, which
# removes them (stage 09).
sweep() { "$STAGE" -q -r "$ROOTFS_DIR" true || fail "a stage to sweep failed"; }

# exec NAME held by strace at the setpgid() before it says go: its child
# (held; joiner is its parent) has joined everything but not yet run its
# command, and waits for the go. release_exec ends the hold, and waits.
hold_exec() {
	strace -qq -o /dev/null -e trace=setpgid -e inject=setpgid:delay_enter=60s \
		"$STAGE" -q exec "$1" true >"$TEST_TMP/exec.out" 2>&1 3>&- &
	tracer=$!
	MORE_STAGES=$tracer
	wait_until has_child "$tracer"
	joiner=$(first_child_of "$tracer")
	wait_until has_child "$joiner"
	held=$(first_child_of "$joiner")
	wait_until sleeps_in "$held" '*pipe_read'
}
release_exec() {
	kill -KILL "$tracer"
	wait "$tracer" || true
	wait_until process_gone "$joiner"
}

ns_links_of() { for t in $NS_TYPES; do readlink "/proc/$1/ns/$t"; done; }

@test "stage12: exec's command is in every namespace of the container's first process" {
	start_named web sleep 1000
	run "$STAGE" -q exec web sh -c "$NS_LINKS_SCRIPT"
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	same "$output" "$(ns_links_of "$CHILD")"
	[ "$output" != "$(ns_links_of $$)" ] || fail "those are the host's namespaces"
	# Seen from the host too: the shell's own readlink is a child of it,
	# which a PID namespace takes in where the shell may not be.
	exec_bg web sleep 1000
	wait_until command_is "$JOINED" sleep
	same "$(ns_links_of "$JOINED")" "$(ns_links_of "$CHILD")"
}

@test "stage12: exec sees the container's files, hostname, processes, eth0, cgroup and uptime, as a child, not pid 1" {
	start_named web -n box --uptime 86400 sh -c 'echo from-first >/first && exec sleep 1000'
	wait_until command_is "$CHILD" sleep
	run "$STAGE" -q exec web sh -c 'cat /first; test -e /etc/stage-rootfs && echo rootfs; hostname
		cat /proc/1/comm; echo $$; ip -o -4 addr show eth0 | awk "{ print \$4 }"
		[ "$(cat /proc/self/cgroup)" = "$(cat /proc/1/cgroup)" ] && echo same cgroup; cut -d" " -f1 /proc/uptime'
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	same "$(printf '%s\n' "${lines[@]:0:4}")" "$(printf '%s\n' from-first rootfs box sleep)"
	[ "${lines[4]}" -gt 1 ] || fail "the command is pid ${lines[4]}"
	[[ ${lines[5]} == 169.254.*/30 ]] || fail "eth0: ${lines[5]}"
	same "${lines[6]}" "same cgroup"
	awk -v u="${lines[7]}" 'BEGIN { exit !(u >= 86400 && u < 86500) }' || fail "uptime ${lines[7]}"
}

# Joining the mount namespace puts exec at its root, which under --chroot
# is the host's: the container's root is one more step.
@test "stage12: under --chroot too, exec's / is the container's" {
	start_named web --chroot sleep 1000
	run "$STAGE" -q exec web sh -c 'test -e /etc/stage-rootfs && echo rootfs'
	same "$output" rootfs
}

@test "stage12: a write in the overlay by exec is the first process's, and the image's files are untouched" {
	start_named web sleep 1000
	run "$STAGE" -q exec web sh -c 'echo from-exec >/second'
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	same "$(cat "/proc/$CHILD/root/second")" from-exec
	[ ! -e "$ROOTFS_DIR/second" ] || fail "the image was written"
}

@test "stage12: exec's command is in the container's leaf cgroup, though root inside moved the first process below it, and its memory counts against --memory" {
	start_named web --memory 32M sleep 1000
	# Root inside moves the first process below the leaf, in each hierarchy.
	run "$STAGE" -q exec web sh -c 'for m in $(awk "\$3 ~ /^cgroup/ { print \$2 }" /proc/mounts); do
		mount -o remount,bind,rw "$m" && mkdir "$m/sub" && echo 1 >"$m/sub/cgroup.procs" || exit 1; done'
	[ "$status" -eq 0 ] || fail "moving pid 1 below the leaf: exit $status: $output"
	exec_bg web sleep 1000
	wait_until command_is "$JOINED" sleep
	leaves=$(stage_cgroups | grep "/stage12-$STAGE_PID\$" | sed 's#$#/container#')
	[ -n "$leaves" ] || fail "no cgroup for the stage: $(stage_cgroups)"
	for leaf in $leaves; do
		grep -qx "$JOINED" "$leaf/cgroup.procs" || fail "$JOINED is not in $leaf: $(cat "$leaf/cgroup.procs")"
	done
	[ "$(cat "/proc/$EXEC_PID/cgroup")" = "$(cat /proc/self/cgroup)" ] ||
		fail "exec's own process left its cgroup: $(cat "/proc/$EXEC_PID/cgroup")"
	kill -KILL "$EXEC_PID"
	wait "$EXEC_PID" || true
	MORE_STAGES=
	run "$STAGE" -q exec web dd if=/dev/zero of=/big bs=1M count=100
	same "$status" 137
}

# Held with strace at the setpgid() before it says go, exec's parent has a
# child in the container that has joined everything but not yet run its
# command. Root inside may read the files of a dumpable process of its own
# (the first process's exe, the control); this one's exe - the host's
# binary - and its mem, which takes ptrace's attach check, it may not.
@test "stage12: before its exec, the joined process is not dumpable: root inside can neither open its exe nor its mem" {
	require_strace
	require_wchan
	start_named web sleep 1000
	hold_exec web
	inner=$(awk '/^NSpid:/ { print $NF }' "/proc/$held/status")
	run nsenter -t "$CHILD" -a cat /proc/1/exe
	[ "$status" -eq 0 ] || fail "the control: root inside cannot read its own first process's exe: $output"
	run nsenter -t "$CHILD" -a cat "/proc/$inner/exe"
	[ "$status" -ne 0 ] && [[ $output == *"Permission denied"* ]] || fail "exe: exit $status: ${output:0:200}"
	run nsenter -t "$CHILD" -a dd if="/proc/$inner/mem" bs=1 count=1
	[ "$status" -ne 0 ] && [[ $output == *"Permission denied"* ]] || fail "mem: exit $status: $output"
	release_exec
}

# The same hold, seen from the host: what exec's child runs until its
# command's exec, and what /proc/self/exe inside leads to (runc's
# CVE-2019-5736: `#!/proc/self/exe`), is a sealed copy in memory.
@test "stage12: until its command's exec, exec runs from a sealed copy of itself, which not even root can write" {
	require_strace
	require_wchan
	start_named web sleep 1000
	hold_exec web
	[[ $(readlink "/proc/$held/exe") == /memfd:* ]] || fail "it runs $(readlink "/proc/$held/exe")"
	exec 8<"/proc/$held/exe" # kept: once nothing runs it, a write is up to its seals
	release_exec
	run dd if=/dev/zero of=/dev/fd/8 bs=1 count=1 conv=notrunc oflag=append
	exec 8<&-
	[ "$status" -ne 0 ] && [[ $output == *"Operation not permitted"* ]] || fail "a write: exit $status: $output"
}

@test "stage12: exec exits with its command's status, and 137 when the container's first process ends" {
	start_named web sleep 1000
	run "$STAGE" -q exec web sh -c 'exit 7'
	same "$status" 7
	capture "$STAGE" -q exec web no-such-command
	same "$status" 127
	exec_bg web sleep 1000
	wait_until command_is "$JOINED" sleep
	kill -KILL "$CHILD"
	wait_until process_gone "$EXEC_PID"
	status=0
	wait "$EXEC_PID" || status=$?
	MORE_STAGES=
	same "$status" 137
}

@test "stage12: exec passes SIGTERM on, dies with its command when killed, and the command starts with fds 0, 1 and 2" {
	start_named web sleep 1000
	exec_bg web sleep 1000
	wait_until command_is "$JOINED" sleep
	same "$(ls "/proc/$JOINED/fd" | sort -n | tr '\n' ' ')" "0 1 2 "
	kill -TERM "$EXEC_PID"
	wait_until process_gone "$EXEC_PID"
	status=0
	wait "$EXEC_PID" || status=$?
	same "$status" 143
	exec_bg web sleep 1000
	wait_until command_is "$JOINED" sleep
	kill -KILL "$EXEC_PID"
	wait_until process_gone "$JOINED"
}

@test "stage12: a container is named by --name, else by -n's hostname while no other has it, else by its stage's pid; a name in use is refused" {
	start_named web sleep 1000
	run "$STAGE" -q -r "$ROOTFS_DIR" --name web true
	[ "$status" -eq 125 ] || fail "exit $status: $output"
	same "$output" "stage12: name the container web: Address already in use (that name is in use)"
	first=$STAGE_PID
	start_stage 12 -r "$ROOTFS_DIR" -n box sleep 1000
	MORE_STAGES="$first"
	wait_until name_listens box
	run "$STAGE" -q exec box hostname
	same "$output" box
	# A hostname two containers may share: the second is named by its pid.
	run "$STAGE" -r "$ROOTFS_DIR" -n box true
	[ "$status" -eq 0 ] || fail "a second -n box: exit $status: $output"
	[[ $output == *"parent: named the container "[0-9]*": "* ]] || fail "$output"
	second=$STAGE_PID
	start_stage 12 -r "$ROOTFS_DIR" sleep 1000
	MORE_STAGES="$first $second"
	wait_until name_listens "$STAGE_PID"
	grep -q "named the container $STAGE_PID: 'stage12 exec $STAGE_PID' joins it" "$TEST_TMP/out" || fail "$(cat "$TEST_TMP/out")"
	run "$STAGE" -q exec "$STAGE_PID" cat /proc/1/comm
	same "$output" sleep
}

@test "stage12: containers started at once with no name all run, each named" {
	for i in 1 2 3 4 5 6; do
		"$STAGE" -q -r "$ROOTFS_DIR" true >"$TEST_TMP/out$i" 2>&1 3>&- &
		pids+=" $!"
	done
	for pid in $pids; do
		wait "$pid" || fail "a stage exited $?: $(cat "$TEST_TMP"/out*)"
	done
}

@test "stage12: an unknown name, a bad one, or options besides -q are refused with exit 125" {
	run "$STAGE" -q exec nosuch true
	[ "$status" -eq 125 ] || fail "exit $status: $output"
	same "$output" "stage12: exec: find the container nosuch: No such file or directory (no container of that name runs here)"
	for args in "exec a/b true" "--memory 32M exec web true" "exec"; do
		run "$STAGE" $args
		[ "$status" -eq 125 ] && [[ ${lines[0]} == usage:* ]] || fail "$args: exit $status: $output"
	done
}

# setns() into a PID namespace is for its ancestors only: from a PID
# namespace of its own, beside the container's, the kernel refuses it.
@test "stage12: a namespace the kernel will not let exec join is named in the line, exit 125" {
	start_named web sleep 1000
	capture unshare --pid --fork "$STAGE" -q exec web true
	[ "$status" -eq 125 ] || fail "exit $status: $output"
	same "$output" "stage12: exec: join web's pid namespace (setns): Invalid argument"
}

# Held by strace at its first line, found but not yet joined, exec outlives
# the container: its /proc files are gone, and the line says so.
@test "stage12: a container that ends while exec joins it gives one line, exit 125" {
	require_strace
	start_named web sleep 1000
	strace -qq -o "$TEST_TMP/trace" -e trace=write -e inject=write:delay_enter=60s:when=1 \
		"$STAGE" exec web true >"$TEST_TMP/exec.out" 2>&1 3>&- &
	tracer=$!
	MORE_STAGES=$tracer
	wait_until has_child "$tracer"
	joiner=$(first_child_of "$tracer")
	# strace writes out a call as it enters it: this one is held.
	wait_until grep -q "^write(2, \"exec: web's first process" "$TEST_TMP/trace"
	first=$CHILD
	kill -KILL "$STAGE_PID"
	wait_stage
	wait_until test ! -e "/proc/$first"
	release_exec
	wait_until grep -q '^stage12: ' "$TEST_TMP/exec.out"
	sweep
	same "$(grep '^stage12: ' "$TEST_TMP/exec.out")" "stage12: exec: open web's cgroup: No such process (it ended while we joined it)"
}

# A user owns its rootless container's user namespace, and so may join it;
# root's container is not its to join, nor a user's root's.
@test "stage12: as nobody, exec joins nobody's container, and each refuses the other's" {
	copy_rootfs "$TEST_TMP/rootfs"
	cp "$STAGE" "$TEST_TMP/stage12"
	(cd "$TEST_TMP" && exec setpriv --reuid=65534 --regid=65534 --clear-groups \
		./stage12 -r rootfs --name theirs sleep 1000) >"$TEST_TMP/out" 2>&1 3>&- &
	STAGE_PID=$!
	wait_until name_listens theirs
	CHILD=$(first_child_of "$STAGE_PID") # the subshell execs setpriv, which execs the stage
	run bash -c 'cd "$1" && exec setpriv --reuid=65534 --regid=65534 --clear-groups ./stage12 -q exec theirs sh -c "id -u; readlink /proc/self/ns/user; readlink /proc/self/ns/mnt"' bash "$TEST_TMP"
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	same "$output" "$(printf '0\n%s\n%s' "$(readlink "/proc/$CHILD/ns/user")" "$(readlink "/proc/$CHILD/ns/mnt")")"
	run "$STAGE" -q exec theirs true
	[ "$status" -eq 125 ] || fail "root joined nobody's: exit $status: $output"
	same "$output" "stage12: exec: find the container theirs: Operation not permitted (it is another user's, not yours to join)"
	# shellcheck disable=SC2034 # stop_stage reads it
	MORE_STAGES=$STAGE_PID
	start_named web sleep 1000
	run bash -c 'cd "$1" && exec setpriv --reuid=65534 --regid=65534 --clear-groups ./stage12 -q exec web true' bash "$TEST_TMP"
	[ "$status" -eq 125 ] || fail "nobody joined root's: exit $status: $output"
	same "$output" "stage12: exec: find the container web: Operation not permitted (it is another user's, not yours to join)"
}

@test "stage12: nothing is left after the container ends or is killed: its name is free again at once" {
	run "$STAGE" -q -r "$ROOTFS_DIR" --name web true
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	same "$(names_bound)" "$HOST_NAMES"
	start_named web sleep 1000
	kill -KILL "$STAGE_PID"
	wait_stage
	run "$STAGE" -q -r "$ROOTFS_DIR" --name web true
	[ "$status" -eq 0 ] || fail "the name is still taken: exit $status: $output"
}
