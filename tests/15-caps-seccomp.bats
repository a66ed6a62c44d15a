#!/usr/bin/env bats
# Stage 15: root inside keeps docker's capabilities, under no_new_privs and
# a seccomp filter, with /proc's knobs read-only and its secrets masked.
# Each test runs the stage under sudo and as an ordinary user (uid 65534),
# in a network namespace the test made, standing for the host. What runs
# inside is tests/refused.c, built static into a copy of the rootfs.

load helpers

setup() {
	setup_stage 15
	make_host_netns
	copy_rootfs "$TEST_TMP/rootfs"
	cc -static -O2 -o "$TEST_TMP/rootfs/bin/refused" "$ROOT/tests/refused.c" ||
		fail "cannot build tests/refused.c static (libc6-dev)"
	cp "$STAGE" "$TEST_TMP/stage15"
}

teardown() {
	teardown_stage
}

# as WHO [stage args...] [--] command...: run the stage from $TEST_TMP, as
# root (sudo) or as uid 65534 (user), in the test's host namespace, into
# bats' $output and $status; its own lines go to $TEST_TMP/err. With
# ON_TERMINAL=1, script(1) runs it on a pty of its own.
as() {
	local who=$1 stage
	shift
	stage=(./stage15 -q)
	[ "$1" = exec ] || stage+=(-r rootfs) # exec takes no option but -q
	stage+=("$@")
	[ "$who" = sudo ] || stage=(setpriv --reuid=65534 --regid=65534 --clear-groups "${stage[@]}")
	[ -z "${ON_TERMINAL:-}" ] || stage=(script -qec "$(printf '%q ' "${stage[@]}")" /dev/null)
	run in_host bash -c 'cd "$0" && exec "$@" 2>err' "$TEST_TMP" "${stage[@]}"
}

status_of() { grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):' | tr -s '\t' ' '; }

DOCKER="CapInh: 0000000000000000
CapPrm: 00000000a80425fb
CapEff: 00000000a80425fb
CapBnd: 00000000a80425fb
CapAmb: 0000000000000000
NoNewPrivs: 1
Seccomp: 2"

@test "stage15: root inside keeps docker's 14 capabilities, no_new_privs and a filter, under sudo and as a user" {
	for who in sudo user; do
		as $who -- cat /proc/self/status
		[ "$status" -eq 0 ] || fail "$who: exit $status: $output $(cat "$TEST_TMP/err")"
		same "$(status_of <<<"$output")" "$DOCKER"
	done
}

# What tests/refused.c tries, in its order; the filter answers EPERM to all
# but clone3 and cachestat (newer than the filter's list): ENOSYS.
CALLS="keyctl keyctl-x32 add_key request_key bpf perf_event_open userfaultfd kexec_load
	kexec_file_load init_module finit_module delete_module open_by_handle_at mount umount2
	pivot_root fsopen fsconfig fsmount fspick move_mount open_tree mount_setattr swapon swapoff
	acct io_uring_setup io_uring_enter io_uring_register clone-user tiocsti tioclinux clone3
	cachestat unshare-user"
# Those that the kernel itself, on 6.1 and on 6.18, answers otherwise than EPERM
# with every capability and no filter: there, the EPERM is the filter's.
KERNEL_ANSWERS="keyctl keyctl-x32 add_key request_key perf_event_open userfaultfd mount
	umount2 pivot_root fsopen fsconfig fsmount fspick move_mount open_tree mount_setattr
	io_uring_enter io_uring_register clone-user tiocsti tioclinux clone3 unshare-user"

@test "stage15: the deny list is refused with EPERM, clone3 and newer calls with ENOSYS, whatever the capabilities" {
	require_script
	local out call
	for who in sudo user; do
		ON_TERMINAL=1 as $who --cap-add ALL -- refused calls
		[ "$status" -eq 0 ] || fail "$who: exit $status: $output"
		out=$(tr -d '\r' <<<"$output" | grep -v '^stage15: ')
		same "$(cut -d' ' -f1 <<<"$out" | xargs)" "$(xargs <<<"$CALLS")"
		same "$out" "$(awk '{ print $1, $1 ~ /^(clone3|cachestat)$/ ? "ENOSYS" : "EPERM" }' <<<"$out")"
	done
	# Without the filter these pass, or fail for the kernel's own reasons.
	# (TIOCSTI's space, let through, comes back as the terminal's echo)
	ON_TERMINAL=1 as sudo --cap-add ALL --security-opt seccomp=unconfined -- refused calls
	out=$(tr -d '\r' <<<"$output" | sed 's/^ *//')
	for call in $KERNEL_ANSWERS; do
		grep -q "^$call " <<<"$out" && ! grep -qx "$call EPERM" <<<"$out" ||
			fail "$call, with no filter: $(grep "^$call " <<<"$out")"
	done
	grep -qx 'clone3 EINVAL' <<<"$out" || fail "clone3, with no filter: $out"
}

@test "stage15: a call through the 32-bit entry point (int \$0x80) kills the program" {
	for who in sudo user; do
		as $who -- refused int80
		[ "$status" -eq $((128 + 31)) ] || fail "$who: exit $status, not SIGSYS's 159: $output"
		[ -z "$output" ] || fail "$who: it lived on: $output"
	done
	as sudo --security-opt seccomp=unconfined -- refused int80
	[ "$status" -eq 0 ] && [[ $output == "int80 "* ]] || fail "unconfined, exit $status: $output"
}

@test "stage15: under no_new_privs no exec gives root a capability back, not even a set-user-ID file's" {
	mkdir "$TEST_TMP/rootfs/suid"
	cp "$TEST_TMP/rootfs/bin/busybox" "$TEST_TMP/rootfs/suid/grep"
	chmod 4755 "$TEST_TMP/rootfs/suid/grep"
	for who in sudo user; do
		as $who -- refused drop /suid/grep CapEff /proc/self/status
		[ "$status" -eq 0 ] || fail "$who: exit $status: $output"
		same "$(tr -s '\t' ' ' <<<"$output")" "CapEff: 0000000000000000"
	done
}

@test "stage15: what root inside still does: ping, chown, port 80, a shell's usual work" {
	# The gateway's address, or the user's container's own: it has only lo.
	local work='gateway=$(ip route | awk "/^default/ { print \$3 }")
		ping -c 1 -W 5 "${gateway:-127.0.0.1}" >/dev/null && echo ping
		touch /f && chown 0:0 /f && chmod 4700 /f && echo chown
		httpd -p 80 -h / && echo port 80
		mkdir -p /a/b && echo x >/a/b/c && cat /a/b/c && ps -o pid,comm | awk "\$1 == 1 { print \$2 }"'
	for who in sudo user; do
		as $who -- sh -c "$work"
		same "$output" "$(printf 'ping\nchown\nport 80\nx\nsh')"
	done
	as sudo --cap-drop NET_RAW -- sh -c 'ping -c 1 -W 1 127.0.0.1 >/dev/null 2>&1 || echo no ping'
	same "$output" "no ping"
}

@test "stage15: /proc's knobs are read-only and its secrets masked, and root inside cannot undo it" {
	# Opened for writing, never written: the open is where the kernel says no.
	local try='for f in /proc/sys/kernel/core_pattern /proc/sys/vm/drop_caches; do
			( : >>$f ) 2>&1 | sed "s/.*: //"; done
		wc -c </proc/keys; wc -c </proc/timer_list; ls -A /sys/firmware | wc -l
		umount /proc/sys 2>/dev/null || echo umount refused
		mount -o remount,rw /proc/sys 2>/dev/null || echo remount refused
		mount -t proc proc /mnt 2>/dev/null || echo proc refused
		( : >>/proc/sys/kernel/core_pattern ) 2>&1 | sed "s/.*: //"'
	as sudo --cap-add SYS_ADMIN -- sh -c "$try"
	same "$output" "$(printf 'Read-only file system\n%.0s' 1 2)
0
0
0
umount refused
remount refused
proc refused
Read-only file system"
	# Each wall holds alone: with both down, root inside remounts it.
	as sudo --cap-add SYS_ADMIN --security-opt seccomp=unconfined -- \
		sh -c 'mount -o remount,rw /proc/sys && grep -w /proc/sys /proc/mounts | cut -d" " -f4 | cut -d, -f1'
	same "$output" rw
	# As a user, the host's root owns them: the kernel refuses them first.
	as user -- sh -c "$try"
	same "$(sed -n 1,8p <<<"$output")" "$(printf 'Permission denied\n%.0s' 1 2)
0
0
0
umount refused
remount refused
proc refused"
}

@test "stage15: exec gives the joined command the container's capabilities, no_new_privs and filter" {
	local pid
	for who in sudo user; do
		for opts in "--cap-drop NET_RAW" "--security-opt seccomp=unconfined"; do
			# shellcheck disable=SC2086,SC2046 # the options' words
			nsenter -t "$HOST_NS" -n -- bash -c 'cd "$0" && exec "$@"' "$TEST_TMP" \
				$([ $who = sudo ] || echo setpriv --reuid=65534 --regid=65534 --clear-groups) \
				./stage15 -q -r rootfs --name c $opts sh -c 'trap "exit 0" TERM; sleep 1000 & wait' \
				>/dev/null 2>&1 3>&- &
			pid=$!
			MORE_STAGES="$MORE_STAGES $pid"
			wait_until name_listens_of 15 c in_host
			as $who exec c cat /proc/self/status
			case $opts in
			--cap-drop*) same "$(status_of <<<"$output" | grep -E 'Bnd|Eff|NoNew|Seccomp')" \
				"$(printf 'CapEff: 00000000a80405fb\nCapBnd: 00000000a80405fb\nNoNewPrivs: 1\nSeccomp: 2')" ;;
			*) same "$(status_of <<<"$output" | grep -E 'NoNew|Seccomp')" "$(printf 'NoNewPrivs: 1\nSeccomp: 0')" ;;
			esac
			as $who exec c refused int80
			case $opts in
			--cap-drop*) [ "$status" -eq 159 ] || fail "$who: exec's int \$0x80 lived: $status $output" ;;
			*) [ "$status" -eq 0 ] || fail "$who: unconfined, exec's int \$0x80 died: $status" ;;
			esac
			kill -TERM "$pid"
			wait "$pid" || fail "$who $opts: the stage exited $?"
		done
	done
}

@test "stage15: under --chroot, SYS_CHROOT goes too: a chroot() more is the way out of one" {
	for who in sudo user; do
		as $who --chroot -- sh -c 'grep CapBnd /proc/self/status; chroot / true 2>/dev/null || echo refused'
		same "$(tr -s '\t' ' ' <<<"$output")" "$(printf 'CapBnd: 00000000a80025fb\nrefused')"
	done
}

@test "stage15: --cap-add and --cap-drop take docker's names; an unknown one is refused with 125" {
	as sudo --cap-drop ALL --cap-add net_raw -- grep CapBnd /proc/self/status
	same "$(tr -s '\t' ' ' <<<"$output")" "CapBnd: 0000000000002000"
	as user --cap-add CAP_SYS_ADMIN --cap-drop chown -- grep CapBnd /proc/self/status
	same "$(tr -s '\t' ' ' <<<"$output")" "CapBnd: 00000000a82425fa"
	local last
	last=$(cat /proc/sys/kernel/cap_last_cap)
	as sudo --cap-add ALL --cap-drop SYS_ADMIN -- grep CapBnd /proc/self/status
	same "$(tr -s '\t' ' ' <<<"$output")" "CapBnd: $(printf '%016x' $(((1 << (last + 1)) - 1 - (1 << 21))))"
	# docker's: ALL among the adds wins over ALL among the drops
	as sudo --cap-add ALL --cap-drop ALL -- grep CapBnd /proc/self/status
	same "$(tr -s '\t' ' ' <<<"$output")" "CapBnd: $(printf '%016x' $(((1 << (last + 1)) - 1)))"
	as sudo --cap-add NO_SUCH -- true
	[ "$status" -eq 125 ] || fail "exit $status"
	grep -qx "stage15: no capability is named NO_SUCH: see capabilities(7)" "$TEST_TMP/err" ||
		fail "$(cat "$TEST_TMP/err")"
}
