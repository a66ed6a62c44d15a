#!/usr/bin/env bats
# What every stage promises (../shared/CONTRACT.md, "Running"), checked for
# each stage in $STAGES (make sets it; by default every stage built).
# The rows that differ from stage to stage are in that stage's own file.
# A test tagged kernel-free proves the stage's own logic, the same on every
# kernel: make vmtest leaves it out (--filter-tags '!kernel-free').

# shellcheck disable=SC2046 # $(net_of "$n"): words, split on purpose
load helpers

# Stages 13 on run in a network namespace of the test's, never the
# machine's (helpers.bash, net_of): each run below that names a stage's
# binary puts $(net_of "$n") before it. One for each stage: a stage killed
# with kill -9 leaves its bridge, on a subnet of bridge.c's three, until its
# own next start; four stages' would leave the fourth none.
setup() {
	local n
	setup_stage
	[ -n "$(stages_under_test)" ] || fail "no stage is built: run make"
	STAGE_NETNS_ALL=
	for n in $(stages_under_test); do
		[ "$n" -ge 13 ] || continue
		unshare --net sleep 100000 3>&- &
		declare -g "STAGE_NETNS_$n=$!"
		STAGE_NETNS_ALL+=" $!"
		wait_until netns_of_its_own "$!"
		nsenter -t "$!" -n ip link set lo up
	done
}

teardown() {
	local status=0 pid
	teardown_stage || status=$?
	for pid in $STAGE_NETNS_ALL; do
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null || true
	done
	return "$status"
}

# bats test_tags=kernel-free
@test "every stage: the command's exit status is the stage's" {
	for n in $(stages_under_test); do
		for code in 0 3 255; do
			run $(net_of "$n") "$(stage_bin "$n")" -q sh -c "exit $code"
			[ "$status" -eq "$code" ] || fail "stage$n: sh exited $code, the stage $status"
		done
	done
}

# bats test_tags=kernel-free
@test "every stage: a first process killed by signal N makes the stage exit 128+N" {
	for n in $(stages_under_test); do
		start_stage "$n" -q sleep 1000
		wait_until command_is "$CHILD" sleep
		kill -KILL "$CHILD"
		wait_stage
		[ "$STAGE_STATUS" -eq 137 ] || fail "stage$n: exit $STAGE_STATUS after SIGKILL, expected 137"
	done
}

# bats test_tags=kernel-free
@test "every stage: a missing command is 127 with one error line" {
	for n in $(stages_under_test); do
		capture $(net_of "$n") "$(stage_bin "$n")" -q /no/such/command
		[ "$status" -eq 127 ] || fail "stage$n: exit $status, expected 127"
		[[ $output == "stage$n: cannot run '/no/such/command': No such file or directory"* ]] ||
			fail "stage$n printed: $output"
		[ "$(grep -c . <<<"$output")" -eq 1 ] || fail "stage$n: more than one line: $output"
	done
}

# /etc/passwd: a file that is not executable, on the host and in a rootfs.
# bats test_tags=kernel-free
@test "every stage: a command that cannot be executed is 126" {
	for n in $(stages_under_test); do
		run $(net_of "$n") "$(stage_bin "$n")" -q /etc/passwd
		[ "$status" -eq 126 ] || fail "stage$n: exit $status, expected 126"
		[[ $output == "stage$n: cannot run "*": Permission denied" ]] || fail "stage$n printed: $output"
	done
}

# bats test_tags=kernel-free
@test "every stage: a bad option prints the usage and exits 125" {
	for n in $(stages_under_test); do
		run $(net_of "$n") "$(stage_bin "$n")" --no-such-option
		[ "$status" -eq 125 ] || fail "stage$n: exit $status, expected 125"
		[[ $output == *"usage: stage$n "* ]] || fail "stage$n printed no usage: $output"
		[[ ${lines[0]} == "stage$n: "* ]] || fail "stage$n: the error does not name the stage: ${lines[0]}"
	done
}

# bats test_tags=kernel-free
@test "every stage: -h and --help print the usage on stdout and exit 0" {
	for n in $(stages_under_test); do
		for opt in -h --help; do
			run $(net_of "$n") sh -c '"$1" "$2" 2>/dev/null' sh "$(stage_bin "$n")" "$opt"
			[ "$status" -eq 0 ] || fail "stage$n $opt: exit $status"
			[[ $output == "usage: stage$n "* ]] || fail "stage$n $opt printed: $output"
		done
	done
}

# bats test_tags=kernel-free
@test "every stage: options stop at the command, which keeps its own" {
	for n in $(stages_under_test); do
		run $(net_of "$n") "$(stage_bin "$n")" -q sh -c 'echo "$@"' sh -q -h
		[ "$status" -eq 0 ] && [ "$output" = "-q -h" ] || fail "stage$n: $status, $output"
	done
}

# bats test_tags=kernel-free
@test "every stage: the default command is /bin/sh" {
	for n in $(stages_under_test); do
		run $(net_of "$n") sh -c 'echo "echo \$((6 * 7))" | "$1" -q' sh "$(stage_bin "$n")"
		[ "$status" -eq 0 ] && [ "$output" = 42 ] || fail "stage$n: $status, $output"
	done
}

# bats test_tags=kernel-free
@test "every stage: progress lines go to stderr, say who speaks, and -q silences them" {
	for n in $(stages_under_test); do
		run $(net_of "$n") sh -c '"$1" true 2>&1 >/dev/null' sh "$(stage_bin "$n")"
		[ "$status" -eq 0 ] && [ -n "$output" ] || fail "stage$n: no progress lines"
		while IFS= read -r line; do
			[[ $line == parent:* || $line == child:* ]] || fail "stage$n: '$line' says not who speaks"
		done <<<"$output"
		run $(net_of "$n") sh -c '"$1" -q true 2>&1' sh "$(stage_bin "$n")"
		[ "$status" -eq 0 ] && [ -z "$output" ] || fail "stage$n -q still printed: $output"
	done
}

# The container's shell traps each signal and exits with its number, so the
# exit status says which signal arrived. `wait` returns as soon as a trapped
# signal comes in; the trap kills the sleep so that nothing is left behind.
TRAP_SCRIPT='
trap "kill \$!; exit 1" HUP
trap "kill \$!; exit 2" INT
trap "kill \$!; exit 3" QUIT
trap "kill \$!; exit 15" TERM
sleep 1000 &
echo ready
wait'

@test "every stage: SIGINT, SIGTERM, SIGHUP and SIGQUIT reach the container" {
	for n in $(stages_under_test); do
		for sig in INT TERM HUP QUIT; do
			start_stage "$n" -q sh -c "$TRAP_SCRIPT"
			wait_until grep -qx ready "$TEST_TMP/out"
			kill -"$sig" "$STAGE_PID"
			wait_stage
			[ "$STAGE_STATUS" -eq "$(kill -l "$sig")" ] ||
				fail "stage$n: SIG$sig gave exit $STAGE_STATUS; $(cat "$TEST_TMP/out")"
		done
	done
}

@test "every stage: kill -9 of the stage kills the container's first process" {
	for n in $(stages_under_test); do
		start_stage "$n" -q sleep 1000
		wait_until command_is "$CHILD" sleep
		child=$CHILD
		kill -KILL "$STAGE_PID"
		wait_stage
		wait_until process_gone "$child" || fail "stage$n: the container outlived its stage"
	done
}

@test "every stage: the command starts with exactly fds 0, 1 and 2" {
	for n in $(stages_under_test); do
		exec 7</dev/null # inherited by the stage, besides bats' own
		start_stage "$n" -q sleep 1000
		exec 7<&-
		wait_until command_is "$CHILD" sleep
		[ -e "/proc/$STAGE_PID/fd/7" ] || fail "stage$n did not inherit fd 7: the test proves nothing"
		fds=$(ls "/proc/$CHILD/fd" | sort -n | tr '\n' ' ')
		[ "$fds" = "0 1 2 " ] || fail "stage$n: the command has fds $fds"
		stop_stage
	done
}

# Stage 1 makes no namespace, and stages 7 on make their own user namespace
# first: those run as anyone (8 on say what they go without, then run).
# The rest need root and must say so.
@test "every stage: as an ordinary user, a stage that needs root says so and exits 125" {
	for n in $(stages_under_test); do
		cp "$(stage_bin "$n")" "$TEST_TMP/"
		[ "$n" -lt 6 ] || [ -e "$TEST_TMP/rootfs" ] || copy_rootfs "$TEST_TMP/rootfs"
		run setpriv --reuid=65534 --regid=65534 --clear-groups "$TEST_TMP/stage$n" -q id -u
		case $n in
		1) [ "$status" -eq 0 ] && [ "$output" = 65534 ] || fail "stage1 as nobody: $status, $output" ;;
		2 | 3 | 4 | 5 | 6)
			[ "$status" -eq 125 ] || fail "stage$n as nobody: exit $status, expected 125"
			[[ $output == "stage$n: "*": Operation not permitted (run it with sudo)" ]] ||
				fail "stage$n as nobody printed: $output"
			[ "$(grep -c . <<<"$output")" -eq 1 ] || fail "stage$n: more than one error line: $output"
			;;
		*) [ "$status" -eq 0 ] && [ "${lines[-1]}" = 0 ] || fail "stage$n as nobody: $status, $output" ;;
		esac
	done
}

# A workshop machine's checkout: alice's home is mode 0750 (Ubuntu 21.04 on;
# 0700 on Debian 12), and her clone, her build and the rootfs she made are
# hers. Under sudo, root inside from stage 7 on is uid 0 alone, who may not
# pass that home: the stage must never send the child there by path.
@test "every stage: under sudo it runs from a checkout in another user's home, a directory of mode 0750" {
	local home=$TEST_TMP/home
	mkdir -m 0750 "$home"
	mkdir "$home/p"
	copy_rootfs "$home/p/rootfs"
	for n in $(stages_under_test); do cp "$(stage_bin "$n")" "$home/p/"; done
	chown -hR 1000:1000 "$home"
	for n in $(stages_under_test); do
		run $(net_of "$n") "$home/p/stage$n" -q sh -c 'echo inside'
		[ "$status" -eq 0 ] && [ "$output" = inside ] || fail "stage$n: exit $status: $output"
	done
}

# The window PR_SET_PDEATHSIG leaves open: a parent that dies before the
# child's prctl() takes effect sends it nothing. strace holds the child at
# the door of that prctl() while the test kills the stage - once the parent
# waits for signals, past clone() and, in stages 3 on, past saying go - and
# then strace, which lets the child go on at once. It must notice and leave
# without running the command. (The hold is a minute long only so that it
# outlasts the slowest machine; it ends when strace does.)
@test "every stage: a stage killed before its child's PR_SET_PDEATHSIG took effect leaves nothing running" {
	require_strace
	for n in $(stages_under_test); do
		# The path first: a $(...) after the & would be a child of the job's
		# own, which has_child could take for the stage (as in start_stage).
		bin=$(stage_bin "$n") net=$(net_of "$n")
		$net strace -f -qq -o /dev/null -e trace=prctl -e inject=prctl:delay_enter=60s \
			"$bin" -q echo ran >"$TEST_TMP/out" 2>&1 3>&- &
		tracer=$!
		wait_until has_child "$tracer"
		STAGE_PID=$(first_child_of "$tracer")
		wait_until has_child "$STAGE_PID"
		CHILD=$(first_child_of "$STAGE_PID")
		# From stage 12 on, the parent first waits in poll() for the child's
		# exec, to make its name ready for exec NAME.
		if ((n >= 12)); then wait_until sleeps_in "$STAGE_PID" '*poll*'; else wait_until sleeps_in "$STAGE_PID" '*sigtimedwait*'; fi
		in_state "$CHILD" t || fail "stage$n: the child is not held by strace: the test proves nothing"
		kill -KILL "$STAGE_PID"
		wait_until process_gone "$STAGE_PID"
		kill -KILL "$tracer"
		wait "$tracer" || true
		STAGE_PID=
		wait_until process_gone "$CHILD"
		! grep -q ran "$TEST_TMP/out" || fail "stage$n: the command ran after its stage was killed"
	done
}

@test "every stage: SIGCHLD ignored by whoever started the stage does not hang it" {
	for n in $(stages_under_test); do
		run $(net_of "$n") timeout 20 bash -c 'trap "" CHLD; exec "$1" -q sh -c "exit 5"' bash "$(stage_bin "$n")"
		[ "$status" -eq 5 ] || fail "stage$n: exit $status (124: it hung), expected 5"
	done
}

# Parent and child write to the same stderr: a line in two writes can be cut
# in half by the other's.
# bats test_tags=kernel-free
@test "every stage: each line on stderr is a single write" {
	require_strace
	for n in $(stages_under_test); do
		rm -f "$TEST_TMP"/writes.*
		# -ff: a file per process, so that no write is split into <unfinished ...>
		$(net_of "$n") strace -ff -qq -s 300 -e trace=write -o "$TEST_TMP/writes" "$(stage_bin "$n")" /etc/passwd 2>/dev/null || true
		cat "$TEST_TMP"/writes.* >"$TEST_TMP/writes"
		grep -q 'write(2, "parent: ' "$TEST_TMP/writes" || fail "stage$n: strace saw no progress line"
		grep -q 'write(2, "stage'"$n"': cannot run' "$TEST_TMP/writes" || fail "stage$n: strace saw no error line"
		if grep 'write(2, ' "$TEST_TMP/writes" | grep -v 'write(2, "[^"]*\\n", [0-9]*)'; then
			fail "stage$n: a write to stderr that is not one whole line"
		fi
	done
}

# The terminal tests run the stage in a pseudo-terminal of its own, made by
# script(1), as the foreground job there - as `sudo ./stage4` at a prompt.
@test "every stage: on a terminal, an interactive shell keeps its exit status and the terminal is given back" {
	require_script
	for n in $(stages_under_test); do
		output=$(printf 'echo "inside: $$"\nexit 3\n' |
			timeout 20 script -qec "$(net_of "$n") $(stage_bin "$n") -q; echo \"status: \$?\"; ps -o pgid=,tpgid= -p \$\$" /dev/null |
			tr -d '\r')
		[[ $output == *"status: 3"* ]] || fail "stage$n: $output"
		[[ $output != *"Cannot set tty"* ]] || fail "stage$n: $output"
		[ "$n" -lt 4 ] || [[ $output == *"inside: 1"* ]] || fail "stage$n: $output"
		read -r pgid tpgid <<<"$(tail -n 1 <<<"$output")"
		[ "$pgid" = "$tpgid" ] || fail "stage$n: the terminal was not given back: $output"
	done
}

# Stages 1 to 3 leave the command in the stage's process group, the
# terminal's foreground; from stage 4 on the command has a group of its own
# and the terminal with it. Either way the command's group gets the Ctrl-C
# from the terminal itself, and the stage must not pass on a second one.
@test "every stage: Ctrl-C on the terminal goes to the command's process group, once" {
	require_script
	mkfifo "$TEST_TMP/keys"
	for n in $(stages_under_test); do
		: >"$TEST_TMP/out"
		timeout 20 script -qfec "exec $(net_of "$n") $(stage_bin "$n") sh -c 'trap \"echo got INT; exit 7\" INT; echo ready; while :; do sleep 0.05; done'" /dev/null \
			<"$TEST_TMP/keys" >"$TEST_TMP/out" 2>&1 &
		tracer=$!
		exec 7>"$TEST_TMP/keys"
		wait_until grep -q '^ready' "$TEST_TMP/out"
		STAGE_PID=$(first_child_of "$(first_child_of "$tracer")") # timeout, script, stage
		CHILD=$(first_child_of "$STAGE_PID")
		[ "$(foreground_of "$STAGE_PID")" = "$(pgid_of "$CHILD")" ] || fail "stage$n: the command does not have the terminal"
		if [ "$n" -lt 4 ]; then
			[ "$(pgid_of "$STAGE_PID")" = "$(pgid_of "$CHILD")" ] || fail "stage$n: the command left the stage's process group"
		else
			[ "$(pgid_of "$STAGE_PID")" != "$(pgid_of "$CHILD")" ] || fail "stage$n: the command is in the stage's process group"
		fi
		printf '\003' >&7
		exec 7>&-
		status=0
		wait "$tracer" || status=$?
		STAGE_PID="" CHILD=""
		output=$(tr -d '\r' <"$TEST_TMP/out")
		[ "$status" -eq 7 ] || fail "stage$n: exit $status, expected 7: $output"
		[ "$(grep -c 'got INT' <<<"$output")" -eq 1 ] || fail "stage$n: $output"
		[[ $output != *"passing SIGINT"* ]] || fail "stage$n passed on a Ctrl-C the command had: $output"
	done
}
