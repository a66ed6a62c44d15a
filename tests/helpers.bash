# Loaded by every tests/*.bats file: `load helpers`.
# Written for bats-core 1.2 and later (Ubuntu 22.04 ships 1.2.1).

ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
NS_TYPES="cgroup ipc mnt net pid user uts"
[ -e /proc/self/ns/time ] && NS_TYPES="$NS_TYPES time"

# Where stage N's binary and sources are: here, or under GRADE_DIR for the
# stage it grades (tools/grade: GRADE_DIR=my STAGES=4 for my/stage4, built
# from my/04-pid). The tests name nothing else of a stage.
stage_home() {
	if [ -n "${GRADE_DIR:-}" ] && [ "${STAGES:-}" = "$1" ]; then echo "$GRADE_DIR"; else echo "$ROOT"; fi
}
stage_bin() { echo "$(stage_home "$1")/stage$1"; }
stage_src() {
	local dir
	dir=$(cd "$ROOT" && printf '%s\n' "$(printf '%02d' "$1")"-*)
	echo "$(stage_home "$1")/$dir"
}

# The stages contract.bats covers: STAGES from make, else every one built.
stages_under_test() {
	if [ -n "${STAGES:-}" ]; then
		echo $STAGES
		return
	fi
	local bin
	for bin in "$ROOT"/stage[0-9] "$ROOT"/stage[0-9][0-9]; do
		[ -x "$bin" ] && echo "${bin##*/stage}"
	done
}

require_root() {
	[ "$(id -u)" -eq 0 ] || skip "needs root: run sudo make test"
}

# procps and util-linux: on every Ubuntu and Debian but the most minimal.
require_tools() {
	local tool
	for tool in pgrep ps ipcmk ipcs nsenter setpriv ip; do
		command -v "$tool" >/dev/null ||
			skip "needs $tool: sudo apt-get install procps util-linux iproute2"
	done
}

require_stage() {
	[ -x "$(stage_bin "$1")" ] || skip "stage$1 is not built: run make stage N=$1"
}

# What a test needs beyond procps and util-linux says so itself.
require_strace() {
	command -v strace >/dev/null || skip "needs strace: sudo apt-get install strace"
}
require_script() {
	command -v script >/dev/null || skip "needs script: sudo apt-get install bsdutils"
}

# Tests that watch where a process sleeps need /proc/PID/wchan to name kernel
# functions, which some kernels hide (it reads 0 there).
require_wchan() {
	local sleeper tries
	sleep 1000 >/dev/null 2>&1 &
	sleeper=$!
	for ((tries = 0; tries < 250; tries++)); do
		sleeps_in "$sleeper" '*sleep*' && break
		sleep 0.02
	done
	kill "$sleeper"
	wait "$sleeper" 2>/dev/null || true
	((tries < 250)) || skip "this kernel does not name functions in /proc/PID/wchan"
}

# Every test file's setup and teardown: `setup() { setup_stage 4; }`, or with
# no number (contract.bats) for whichever stages are under test.
# stdin is /dev/null: a stage that is the foreground job of a terminal hands
# the terminal to its command, and the tests' stages are not meant to.
setup_stage() {
	require_root
	require_tools
	if [ -n "${1:-}" ]; then
		require_stage "$1"
		STAGE=$(stage_bin "$1")
	fi
	TEST_TMP=$(mktemp -d)
	chmod 755 "$TEST_TMP" # the unprivileged user of the non-root tests reads it
	HOST_NAME=$(</proc/sys/kernel/hostname)
	HOST_QUEUES=$(</proc/sysvipc/msg)
	HOST_MOUNTS=$(</proc/self/mountinfo)
	HOST_NET=$(host_net)
	HOST_CGROUPS=$(stage_cgroups)
	exec </dev/null
}

# Runs even when the test failed: whatever it started is killed, and the
# host's hostname and message queues are put back - and reported, since a
# stage that changed them broke its promise. Its mounts and /proc are checked.
teardown_stage() {
	local now extra
	stop_stage
	[ -n "${TEST_TMP:-}" ] && rm -rf "$TEST_TMP"
	now=$(</proc/sys/kernel/hostname)
	if [ "$now" != "$HOST_NAME" ]; then
		hostname "$HOST_NAME"
		fail "the host's hostname changed to $now"
	fi
	# A link left on the host (a stage 8 veth end) goes; and is reported.
	if [ "$(host_net)" != "$HOST_NET" ]; then
		for link in $(ip -o link show | awk -F': ' '{ print $2 }' | grep -oE '^stage(8|1[3-9])-[0-9]*|^stage1[3-9]br$'); do
			ip link del "$link" 2>/dev/null || true
		done
		fail "the host's links, addresses, routes or forwarding changed"
	fi
	# A cgroup left by a stage (09 on) goes, its leaf first, and is reported.
	now=$(stage_cgroups) extra=
	[ "$now" = "$HOST_CGROUPS" ] || extra=$(comm -13 <(echo "$HOST_CGROUPS") <(echo "$now"))
	if [ -n "$extra" ]; then
		for dir in $extra; do rmdir "$dir/container" "$dir" 2>/dev/null || true; done
		fail "cgroups were left on the host: $extra"
	fi
	# A mount left on the host cannot be undone blindly: report it. One at a
	# stage's own stageN-* directory (tests/mutations/10-tmpfs-on-host) goes.
	if [ "$(</proc/self/mountinfo)" != "$HOST_MOUNTS" ]; then
		for point in $(comm -13 <(mount_points <<<"$HOST_MOUNTS") <(mount_points </proc/self/mountinfo) |
			grep '/stage[0-9]*-[^/]*$'); do
			umount -l "$point" && rmdir "$point"
		done
		fail "the host's mount table changed"
	fi
	[ -e "/proc/$$/status" ] || fail "the host's /proc no longer shows this shell"
	now=$(</proc/sysvipc/msg) extra=
	[ "$now" = "$HOST_QUEUES" ] || extra=$(comm -13 <(queue_ids <<<"$HOST_QUEUES") <(queue_ids <<<"$now"))
	if [ -n "$extra" ]; then
		for id in $extra; do ipcrm -q "$id"; done
		fail "message queues were left on the host: $extra"
	fi
}

# Is stage N's container NAME (stage 12 on) listening on its name, that is,
# has its command started? name_listens_of N NAME [PREFIX...]: /proc/net/unix
# is read by PREFIX cat (in_host, say), as an abstract socket is seen only in
# its own network namespace.
name_listens_of() {
	local flags path
	# shellcheck disable=SC2034 # the fields before them
	while read -r _ _ _ flags _ _ _ path; do
		[ "$path" = "@stage$1/$2" ] && ((0x$flags & 0x10000)) && return 0
	done < <("${@:3}" cat /proc/net/unix)
	return 1
}

# From stage 13 on, a test that sends packets runs the stage inside a network
# namespace the test made itself, standing for the host: whatever goes wrong,
# no packet can reach the machine's real network. "The internet", where a
# test needs one, is another namespace of the test's, on 192.0.2.0/24
# (TEST-NET-1); no test sends a packet to any other address. Add a test the
# same way: make_host_netns, then run everything through in_host.
# The namespace is held by a sleep that stop_stage kills with the stages.
make_host_netns() {
	unshare --net sleep 100000 3>&- &
	HOST_NS=$!
	MORE_STAGES="${MORE_STAGES:-} $HOST_NS"
	wait_until netns_of_its_own "$HOST_NS"
	in_host ip link set lo up
}
# From stage 13 on, a stage makes a bridge, and from 14 it switches
# forwarding on and adds rules: run in the machine's own network namespace,
# it would change the host. $(net_of N): the words that run stage N in
# STAGE_NETNS_N, a namespace of the test's for stage N (contract.bats), from 13 on.
net_of() {
	local netns="STAGE_NETNS_$1"
	if [ "$1" -ge 13 ] && [ -n "${!netns:-}" ]; then echo nsenter -t "${!netns}" -n --; fi
}
netns_of_its_own() { [ "$(readlink "/proc/$1/ns/net")" != "$(readlink /proc/self/ns/net)" ]; }
in_host() { nsenter -t "$HOST_NS" -n -- "$@"; }

# "The internet", from stage 14 on: one more namespace of the test's, joined
# to the host's by a veth pair made straight in the two, wan (192.0.2.1 on
# the host's side) to eth0 (192.0.2.2). It has no route to the containers:
# what reaches it from them must come as the host's address.
make_internet() {
	unshare --net sleep 100000 3>&- &
	INTERNET_NS=$!
	MORE_STAGES="$MORE_STAGES $INTERNET_NS"
	wait_until netns_of_its_own "$INTERNET_NS"
	ip link add wan netns "$HOST_NS" type veth peer name eth0 netns "$INTERNET_NS"
	in_host ip addr add 192.0.2.1/24 dev wan
	in_host ip link set wan up
	in_internet ip link set lo up
	in_internet ip addr add 192.0.2.2/24 dev eth0
	in_internet ip link set eth0 up
}
in_internet() { nsenter -t "$INTERNET_NS" -n -- "$@"; }

# The host's links, addresses and routes, without counters or flags that
# change on their own; and its forwarding, which stage 14 switches on. One
# ip and one awk, as each test runs it twice: under make vmtest's emulated
# CPU every program started costs a tenth of a second.
host_net() {
	printf 'link show\naddress show\nroute show\n' | ip -o -batch - | awk '
		/^[0-9]+: [^ ]+ +inet6? / { print $2, $4; next }
		/^[0-9]+: / { split($0, field, ": "); print field[2]; next }
		{ print }'
	echo "$(</proc/sys/net/ipv4/ip_forward) $(</proc/sys/net/ipv4/conf/all/accept_redirects)"
}

# The cgroups a stage makes, stageN-PID, wherever in the hierarchies.
stage_cgroups() { find /sys/fs/cgroup -mindepth 1 -type d -name 'stage[0-9]*-[0-9]*' 2>/dev/null | sort; }

mount_points() { awk '{ print $5 }' | sort -u; }

# The ids in /proc/sysvipc/msg, as ipcs -q lists them.
queue_ids() { awk 'NR > 1 { print $2 }' | sort; }

# A copy of the rootfs under test, owned by root as `sudo make rootfs` leaves
# it: one built without sudo is its user's, and under sudo root inside is
# uid 0 alone, with no say over that user's files (docs/07-user-map.md).
copy_rootfs() {
	cp -a "${ROOTFS:-$ROOT/rootfs}" "$1"
	chown -hR 0:0 "$1"
}

# Print a diagnostic and fail the test.
fail() {
	echo "$*" >&2
	return 1
}

# bats' run, for a command that may exit 127: run takes that for a typo
# in the test and warns.
# shellcheck disable=SC2034 # output and status are bats' names, read by the tests
capture() {
	output=$("$@" 2>&1) && status=0 || status=$?
}

# Poll, never sleep blindly: try "$@" every 20 ms for up to 10 s. A
# timeout says, in words, the state it waited for (make grade shows it).
wait_until() {
	local tries
	for ((tries = 0; tries < 500; tries++)); do
		"$@" && return 0
		sleep 0.02
	done
	fail "timed out after 10 s waiting for $(in_words "$@")"
}

in_words() {
	case $1 in
	has_child) echo "process ${2:-?} to have a child" ;;
	command_is) echo "process ${2:-?} to be running $3" ;;
	sleeps_in) echo "process ${2:-?} to be asleep in the kernel's $3 ($(case $3 in
		*pipe_read*) echo "reading a pipe, such as the go pipe" ;;
		*pipe_write*) echo "writing to a pipe that is full" ;;
		*sigtimedwait*) echo "waiting for signals, its setup done" ;;
		*) echo "a wait of its own" ;;
		esac))" ;;
	process_gone) echo "process ${2:-?} to be gone" ;;
	held_or_gone) echo "strace (process ${2:-?}) to hold the stage at a write after its clone, or to end" ;;
	in_state) echo "process ${2:-?} to be in state $3 ($([ "$3" = t ] && echo "held by a tracer" || echo "see proc(5)"))" ;;
	grep) echo "${*: -1} to hold a line matching '${*: -2:1}'" ;;
	netns_of_its_own) echo "process ${2:-?} to be in a network namespace of its own" ;;
	*) echo "$*" ;;
	esac
}

# Fail unless ACTUAL is EXPECTED, showing both: make grade prints them one
# under the other, so that a word off is plain to see.
same() { # actual expected
	[ "$1" = "$2" ] || fail "$(printf 'expected: %s\n  actual: %s' "$2" "$1")"
}

first_child_of() { pgrep -P "$1" | head -n 1; }
has_child() { [ -n "$(first_child_of "$1")" ]; }

# Gone, or a zombie: dead either way, whoever is left to reap it.
process_gone() {
	[ ! -e "/proc/$1" ] || grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# The kernel function a process sleeps in: pipe_read, pipe_write, do_wait ...
# (anon_pipe_read on newer kernels, hence the globs in callers).
sleeps_in() {
	local wchan
	wchan=$(cat "/proc/$1/wchan" 2>/dev/null) || return 1
	# shellcheck disable=SC2053 # $2 is a glob on purpose
	[[ $wchan == $2 ]]
}

command_is() { [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ]; }

# Start a stage in the background: start_stage N [stage args...].
# Sets STAGE_PID (the stage) and CHILD (the container's first process), and
# sends the container's stdout and stderr to $TEST_TMP/out.
# A shell runs background jobs with SIGINT and SIGQUIT ignored; env puts
# them back, as a terminal would have them. fd 3 is bats' own.
# The path is worked out first: a $(...) after the & would run in a child of
# the job's own, which has_child could take for the container.
start_stage() {
	local bin net
	bin=$(stage_bin "$1")
	net=$(net_of "$1")
	shift
	# shellcheck disable=SC2086 # net_of's words
	env --default-signal=INT,QUIT $net "$bin" "$@" >"$TEST_TMP/out" 2>&1 3>&- &
	STAGE_PID=$!
	wait_until has_child "$STAGE_PID"
	CHILD=$(first_child_of "$STAGE_PID")
}

# Wait for the background stage and put its exit status in STAGE_STATUS.
# Bounded: a stage that does not end fails the test instead of hanging it.
# shellcheck disable=SC2034 # STAGE_STATUS is read by the tests
wait_stage() {
	wait_until process_gone "$STAGE_PID" || return 1
	STAGE_STATUS=0
	wait "$STAGE_PID" || STAGE_STATUS=$?
	STAGE_PID="" CHILD=""
}

descendants_of() {
	local pid
	for pid in $(pgrep -P "$1"); do
		echo "$pid"
		descendants_of "$pid"
	done
}

# Whatever a test left running, even after a failed assertion: the stage
# (and those in MORE_STAGES, for a test that runs several) and everything under it (in stages 1 to 3 only the command itself dies with the
# stage; what the command started may outlive it).
stop_stage() {
	local pids="${CHILD:-}" pid
	for pid in ${STAGE_PID:-} ${MORE_STAGES:-}; do
		pids="$pids $pid $(descendants_of "$pid")"
	done
	# shellcheck disable=SC2086 # a list of pids
	[ -z "${pids// /}" ] || kill -KILL $pids 2>/dev/null || true
	for pid in ${STAGE_PID:-} ${MORE_STAGES:-}; do
		wait "$pid" 2>/dev/null || true
	done
	STAGE_PID="" CHILD="" MORE_STAGES=""
	return 0
}

# The state letter of /proc/PID/stat: R, S, T (stopped), t (traced), Z ...
state_of() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1; }
in_state() { [ "$(state_of "$1")" = "$2" ]; }

# Fields 5 and 8 of /proc/PID/stat: the process group, and the foreground
# group of its terminal.
pgid_of() { sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f3; }
foreground_of() { sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f6; }

# One namespace link per line, "type:[inode]", for the process running it.
NS_LINKS_SCRIPT='for t in '"$NS_TYPES"'; do readlink /proc/self/ns/$t; done'

# Inside the container, compared with this shell: the namespaces in "$1"
# must differ from the host's, all the others must be the host's.
assert_new_namespaces() {
	local expected_new=" $1 " inside host t line
	inside=$("$STAGE" -q sh -c "$NS_LINKS_SCRIPT") || fail "the stage failed: $inside"
	host=$(sh -c "$NS_LINKS_SCRIPT")
	for t in $NS_TYPES; do
		line=$(grep "^$t:" <<<"$inside")
		if [[ $expected_new == *" $t "* ]]; then
			[ "$line" != "$(grep "^$t:" <<<"$host")" ] || fail "$t namespace inside is the host's: $line"
		else
			[ "$line" = "$(grep "^$t:" <<<"$host")" ] || fail "$t namespace inside is new ($line), expected the host's"
		fi
	done
}

# The same seen from the host: /proc/CHILD/ns/* against /proc/STAGE_PID/ns/*.
assert_new_namespaces_from_host() {
	local expected_new=" $1 " t theirs ours
	for t in $NS_TYPES; do
		theirs=$(readlink "/proc/$CHILD/ns/$t")
		ours=$(readlink "/proc/$STAGE_PID/ns/$t")
		if [[ $expected_new == *" $t "* ]]; then
			[ "$theirs" != "$ours" ] || fail "from the host: $t namespace of the container is its parent's"
		else
			[ "$theirs" = "$ours" ] || fail "from the host: $t namespace of the container is new: $theirs"
		fi
	done
}

# A directory to chroot into, holding the programs named and the shared
# libraries each loads (as ldd lists them): make_chroot DIR PROGRAM...
# Each program lands at the same path under DIR, and the stage binaries also
# at /stageN, where a stage looks for nothing else.
make_chroot() {
	local dir=$1 program lib reports
	shift
	for program in "$@"; do
		mkdir -p "$dir$(dirname "$program")"
		cp -L "$program" "$dir$program"
		[[ ${program##*/} != stage* ]] || cp -L "$program" "$dir/${program##*/}"
		for lib in $(ldd "$program" 2>/dev/null | grep -oE '/[^ ]+'); do
			cp -L --parents "$lib" "$dir"
		done
	done
	# Under tools/sanitize, ASan's reports go to the directory ASAN_OPTIONS
	# names: bound into the chroot, they land there, not on the stage's stderr.
	reports=$(grep -o 'log_path=[^:]*' <<<"${ASAN_OPTIONS:-}" | sed 's/^log_path=//; s#/[^/]*$##')
	if [ -n "$reports" ]; then
		mkdir -p "$dir$reports"
		mount --bind "$reports" "$dir$reports"
	fi
}

# Whatever is still mounted under a chroot of make_chroot's, deepest first.
unmount_chroot() {
	local point
	for point in $(awk -v dir="$1/" 'index($5, dir) == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
		umount "$point"
	done
}
