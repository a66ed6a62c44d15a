#!/usr/bin/env bats
# Stage 03: an IPC namespace, and a child that waits for the parent's "go".

load helpers

setup() { setup_stage 3; }

teardown() {
	[ -z "${QUEUE:-}" ] || ipcrm -q "$QUEUE"
	teardown_stage
}

@test "stage3: a System V queue made on the host is invisible inside" {
	QUEUE=$(ipcmk -Q | grep -o '[0-9]*$')
	[ -n "$(ipcs -q | awk -v id="$QUEUE" '$2 == id')" ] # the host lists it
	run "$STAGE" -q ipcs -q
	[ "$status" -eq 0 ]
	[ -z "$(awk -v id="$QUEUE" '$2 == id' <<<"$output")" ]
	[ "$(grep -c '^0x' <<<"$output")" -eq 0 ] # a new IPC namespace starts empty
}

@test "stage3: a queue made inside is gone with the container" {
	run "$STAGE" -q sh -c 'ipcmk -Q >/dev/null && ipcs -q | grep -c "^0x"'
	[ "$output" -eq 1 ]
	[ "$(ipcs -q)" = "$HOST_QUEUES" ]
}

@test "stage3: inside, the UTS and IPC namespaces are new and every other is the host's" {
	assert_new_namespaces "uts ipc"
}

@test "stage3: from the host, the container's IPC namespace is not its parent's" {
	start_stage 3 -q sleep 1000
	wait_until command_is "$CHILD" sleep
	assert_new_namespaces_from_host "uts ipc"
}

# Hold the parent at the end of its setup window: its stderr is a pipe the
# test has filled but for room for its line naming the child, so the next
# one - "setup done", just before it says go - blocks. (A pipe holds 16
# pages; a short write goes into the last page if it fits, else waits for a
# free page.) The child must then be asleep reading the go pipe, not running
# the command, nor blocked writing a progress line of its own. Draining the
# pipe lets the parent finish; only then does the command run.
@test "stage3: the child runs the command only after the parent says go" {
	require_wchan
	mkfifo "$TEST_TMP/stderr"
	exec 7<>"$TEST_TMP/stderr"
	cloned="parent: cloned child $(cat /proc/sys/kernel/pid_max) into new UTS and IPC namespaces"
	room=$((${#cloned} + 1)) # the longest that line can be, newline included
	dd if=/dev/zero of=/dev/fd/7 bs=4096 count=15 oflag=nonblock 2>/dev/null
	dd if=/dev/zero of=/dev/fd/7 bs=$((4096 - room)) count=1 oflag=nonblock 2>/dev/null
	"$STAGE" sh -c 'echo ran' >"$TEST_TMP/out" 2>&7 3>&- &
	STAGE_PID=$!
	wait_until has_child "$STAGE_PID"
	CHILD=$(first_child_of "$STAGE_PID")
	wait_until sleeps_in "$STAGE_PID" '*pipe_write'
	wait_until sleeps_in "$CHILD" '*pipe_read'
	[ ! -s "$TEST_TMP/out" ]
	dd if=/dev/fd/7 of=/dev/null bs=4096 iflag=nonblock 2>/dev/null || true
	wait_stage
	exec 7<&-
	[ "$STAGE_STATUS" -eq 0 ]
	[ "$(cat "$TEST_TMP/out")" = ran ]
}

@test "stage3: a child whose parent dies before saying go never runs the command" {
	require_wchan
	mkfifo "$TEST_TMP/stderr"
	exec 7<>"$TEST_TMP/stderr"
	dd if=/dev/zero of=/dev/fd/7 bs=4096 oflag=nonblock 2>/dev/null || true
	"$STAGE" sh -c 'echo ran' >"$TEST_TMP/out" 2>&7 3>&- &
	STAGE_PID=$!
	wait_until has_child "$STAGE_PID"
	CHILD=$(first_child_of "$STAGE_PID")
	wait_until sleeps_in "$CHILD" '*pipe_read'
	child=$CHILD
	kill -KILL "$STAGE_PID"
	wait_stage
	exec 7<&-
	wait_until process_gone "$child"
	[ ! -s "$TEST_TMP/out" ]
}
