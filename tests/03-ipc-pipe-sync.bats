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
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	[ -z "$(awk -v id="$QUEUE" '$2 == id' <<<"$output")" ]
	[ "$(grep -c '^0x' <<<"$output")" -eq 0 ] # a new IPC namespace starts empty
}

@test "stage3: a queue made inside is gone with the container" {
	run "$STAGE" -q sh -c 'ipcmk -Q >/dev/null && ipcs -q | grep -c "^0x"'
	same "$output" 1
	same "$(</proc/sysvipc/msg)" "$HOST_QUEUES"
}

@test "stage3: inside, the UTS and IPC namespaces are new and every other is the host's" {
	assert_new_namespaces "uts ipc"
}

@test "stage3: from the host, the container's IPC namespace is not its parent's" {
	start_stage 3 -q sleep 1000
	wait_until command_is "$CHILD" sleep
	assert_new_namespaces_from_host "uts ipc"
}

# Hold the parent at the door of its go: strace delays each write(), and
# with -q the parent's first after the clone is the go byte itself. The
# child must then be asleep reading the go pipe, not running the command.
# Once strace is gone the parent goes on, and only then does the command
# run. (The hold is a minute long only so that it outlasts the slowest
# machine; it ends when strace does.)
# The stage, under strace, held at a write; or strace gone, the stage with it.
held_or_gone() {
	local stage
	process_gone "$1" && return 0
	stage=$(first_child_of "$1")
	[ -n "$stage" ] && has_child "$stage" && in_state "$stage" t
}

@test "stage3: the child runs the command only after the parent says go" {
	require_wchan
	require_strace
	strace -f -qq -o /dev/null -e trace=write -e inject=write:delay_enter=60s \
		"$STAGE" -q sh -c 'echo ran' >"$TEST_TMP/out" 2>&1 3>&- &
	tracer=$!
	wait_until held_or_gone "$tracer"
	! process_gone "$tracer" || fail "the stage ended without saying go by a write: $(cat "$TEST_TMP/out")"
	STAGE_PID=$(first_child_of "$tracer")
	wait_until has_child "$STAGE_PID"
	CHILD=$(first_child_of "$STAGE_PID")
	wait_until sleeps_in "$CHILD" '*pipe_read'
	[ ! -s "$TEST_TMP/out" ] || fail "the command ran before the go: $(cat "$TEST_TMP/out")"
	kill -KILL "$tracer"
	wait "$tracer" || true
	wait_until process_gone "$STAGE_PID"
	wait_until grep -qx ran "$TEST_TMP/out"
	STAGE_PID=
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
