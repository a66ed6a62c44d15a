#!/usr/bin/env bats
# Stage 13: one bridge for all the stage's containers. Every test runs the
# stage in a network namespace of its own, standing for the host
# (helpers.bash, make_host_netns): the bridge, and every packet, stay there.

load helpers

setup() {
	setup_stage 13
	ROOTFS_DIR=${ROOTFS:-$ROOT/rootfs}
	[ -x "$ROOTFS_DIR/bin/sh" ] || fail "no rootfs at $ROOTFS_DIR: run make rootfs"
	make_host_netns
}

teardown() {
	teardown_stage
}

# A container that waits to be ended: SIGTERM (from its stage) ends it.
WAIT='trap "exit 0" TERM; sleep 1000 & wait'

# start_named NAME [stage args...]: a container named NAME, in the host
# namespace, in the background, once its command runs; its stage's pid in
# PID_OF[NAME], its output in $TEST_TMP/NAME.
declare -gA PID_OF
start_named() {
	begin_named "$@"
	wait_until name_listens "$1"
}
begin_named() { # the same, but not waiting for it
	local name=$1
	shift
	env --default-signal=INT,QUIT nsenter -t "$HOST_NS" -n -- "$STAGE" -r "$ROOTFS_DIR" \
		--name "$name" "$@" sh -c "$WAIT" >"$TEST_TMP/$name" 2>&1 3>&- &
	PID_OF[$name]=$!
	MORE_STAGES="$MORE_STAGES $!"
}

name_listens() { name_listens_of 13 "$1" in_host; } # in the test's network namespace

# Container NAME's address, as its stage's progress line gives it.
address_of() { grep -o 'eth0 is [0-9.]*' "$TEST_TMP/$1" | cut -d' ' -f3; }

# Run a command in container NAME (stage 12's exec).
in_container() {
	local name=$1
	shift
	in_host "$STAGE" -q exec "$name" "$@"
}

# End container NAME through its stage, and wait for the stage.
stop_named() {
	kill -TERM "${PID_OF[$1]}"
	wait "${PID_OF[$1]}" || fail "container $1's stage exited $?: $(cat "$TEST_TMP/$1")"
}

ports() { in_host bridge link show | grep -c 'master stage13br' || true; }
mac_of() { in_host ip -o link show "$1" | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2; }
bridge_here() { in_host ip link show stage13br >/dev/null 2>&1; }
no_bridge() { ! bridge_here; }
only_lo() { [ "$(in_host ip -o link show | awk -F': ' '{ print $2 }')" = lo ]; }

@test "stage13: three containers at once each ping the other two and the gateway, and the host pings each" {
	for name in c1 c2 c3; do start_named "$name"; done
	for name in c1 c2 c3; do
		for other in c1 c2 c3; do
			[ "$other" != "$name" ] || continue
			in_container "$name" ping -c 1 -W 5 "$(address_of "$other")" >/dev/null ||
				fail "$name cannot ping $other at $(address_of "$other")"
		done
		in_container "$name" ping -c 1 -W 5 10.13.13.1 >/dev/null || fail "$name cannot ping the gateway"
		in_host "$ROOTFS_DIR/bin/busybox" ping -c 1 -W 5 "$(address_of "$name")" >/dev/null ||
			fail "the host cannot ping $name at $(address_of "$name")"
	done
	[ "$(in_host ip -o -4 addr show stage13br | awk '{ print $4 }')" = 10.13.13.1/24 ] ||
		fail "the bridge: $(in_host ip -o addr show stage13br)"
}

# Started at once: the three race for the first free address.
@test "stage13: each container has its own MAC and address, a default route via the gateway, and bridge link shows three ports" {
	for name in c1 c2 c3; do begin_named "$name"; done
	for name in c1 c2 c3; do wait_until name_listens "$name"; done
	for name in c1 c2 c3; do
		in_container "$name" sh -c 'cat /sys/class/net/eth0/address; ip -4 -o addr show eth0 | awk "{ print \$4 }"
			ip route | awk "/^default/ { print \$3 }"' >"$TEST_TMP/$name.net"
		[ "$(sed -n 3p "$TEST_TMP/$name.net")" = 10.13.13.1 ] || fail "$name: $(cat "$TEST_TMP/$name.net")"
	done
	macs=$(awk 'FNR == 1' "$TEST_TMP"/c?.net | sort -u | wc -l)
	addresses=$(awk 'FNR == 2' "$TEST_TMP"/c?.net | sort -u | grep -c '^10\.13\.13\.[0-9]*/24$')
	[ "$macs" -eq 3 ] && [ "$addresses" -eq 3 ] || fail "$(cat "$TEST_TMP"/c?.net)"
	[ "$(ports)" -eq 3 ] || fail "$(in_host bridge link show)"
	in_host ip -d link show stage13br | grep -q 'bridge forward_delay' || fail "$(in_host ip -d link show stage13br)"
}

# The gateway's MAC is the bridge's own: one taken from the lowest port would
# change under the containers' ARP caches as ports come and go.
@test "stage13: the bridge stays while one container runs, with its own MAC, and goes with the last" {
	start_named c1
	start_named c2
	mac=$(mac_of stage13br)
	for port in stage13-2 stage13-3; do
		[ "$(mac_of $port)" != "$mac" ] || fail "the bridge has $port's MAC, $mac"
	done
	stop_named c1
	bridge_here || fail "the bridge went while c2 runs"
	same "$(mac_of stage13br)" "$mac"
	[ "$(ports)" -eq 1 ] || fail "$(in_host bridge link show)"
	in_container c2 ping -c 1 -W 5 10.13.13.1 >/dev/null || fail "c2 lost its gateway"
	stop_named c2
	only_lo || fail "left in the host namespace: $(in_host ip -o link show)"
}

@test "stage13: 20 containers starting and stopping at random each reach the gateway, and leave nothing" {
	for i in $(seq 20); do
		in_host "$STAGE" -q -r "$ROOTFS_DIR" sh -c \
			"sleep 0.\$((RANDOM % 5)); ping -c 1 -W 5 10.13.13.1 >/dev/null" >"$TEST_TMP/out$i" 2>&1 3>&- &
		MORE_STAGES="$MORE_STAGES $!"
		sleep "0.0$((RANDOM % 10))" # starts spread at random, not to wait for anything
	done
	for pid in $MORE_STAGES; do
		[ "$pid" != "$HOST_NS" ] || continue
		wait "$pid" || fail "a container exited $?: $(cat "$TEST_TMP"/out*)"
	done
	only_lo || fail "left in the host namespace: $(in_host ip -o link show)"
}

# kill -9 leaves the stages no time to leave: each veth goes with its
# container's namespace, at the kernel's own pace, and the bridge stays,
# with no port. The next start removes it and makes it afresh.
@test "stage13: after kill -9 of every stage, the bridge has no port, and the next start takes it away" {
	for name in c1 c2 c3; do start_named "$name"; done
	kill_all_named
	wait_until no_ports
	bridge_here || fail "the bridge went though no stage could remove it"
	run in_host "$STAGE" -q -r "$ROOTFS_DIR" ping -c 1 -W 5 10.13.13.1
	[ "$status" -eq 0 ] || fail "the next start: exit $status: $output"
	only_lo || fail "left in the host namespace: $(in_host ip -o link show)"
	# Again, with a start at once, while the dead ones' ports may be there
	# still: counting one, it leaves the bridge to the start after it.
	for name in c1 c2 c3; do start_named "$name"; done
	kill_all_named
	run in_host "$STAGE" -q -r "$ROOTFS_DIR" true
	[ "$status" -eq 0 ] || fail "the start at once: exit $status: $output"
	wait_until no_ports
	run in_host "$STAGE" -q -r "$ROOTFS_DIR" true
	[ "$status" -eq 0 ] || fail "the start after: exit $status: $output"
	only_lo || fail "left in the host namespace: $(in_host ip -o link show)"
}
kill_all_named() {
	kill -KILL "${PID_OF[@]}"
	wait "${PID_OF[@]}" || true # reaped: stage 09 sweeps their cgroups
}
no_ports() { [ -z "$(in_host bridge link show)" ]; }

@test "stage13: --subnet and --ip give the bridge and the container those addresses" {
	start_named c1 --subnet 10.99.0.0/16 --ip 10.99.7.7
	[ "$(address_of c1)" = 10.99.7.7 ] || fail "$(cat "$TEST_TMP/c1")"
	[ "$(in_host ip -o -4 addr show stage13br | awk '{ print $4 }')" = 10.99.0.1/16 ] ||
		fail "$(in_host ip -o addr show stage13br)"
	in_container c1 ping -c 1 -W 5 10.99.0.1 >/dev/null || fail "no gateway"
	start_named c2 --net 9
	[ "$(address_of c2)" = 10.99.0.9 ] || fail "$(cat "$TEST_TMP/c2")"
}

@test "stage13: an address in use, a subnet a route covers, or another subnet than the bridge's is refused with 125" {
	start_named c1 --ip 10.13.13.5
	run in_host "$STAGE" -q -r "$ROOTFS_DIR" --ip 10.13.13.5 true
	[ "$status" -eq 125 ] || fail "exit $status: $output"
	same "$output" "stage13: parent: make the veth pair: File exists (that address is in use)"
	run in_host "$STAGE" -q -r "$ROOTFS_DIR" --ip 10.1.2.3 true
	[ "$status" -eq 125 ] && [[ $output == "stage13: parent: --ip or --net: Invalid argument"* ]] || fail "$status: $output"
	run in_host "$STAGE" -q -r "$ROOTFS_DIR" --subnet 10.99.0.0/16 true
	[ "$status" -eq 125 ] && [[ $output == "stage13: parent: find or make the bridge stage13br: File exists"* ]] ||
		fail "$status: $output"
	stop_named c1
	in_host ip route add 10.50.0.0/16 dev lo
	run in_host "$STAGE" -q -r "$ROOTFS_DIR" --subnet 10.50.3.0/24 true
	[ "$status" -eq 125 ] && [[ $output == "stage13: parent: find or make the bridge stage13br: File exists"* ]] ||
		fail "$status: $output"
	only_lo || fail "left in the host namespace: $(in_host ip -o link show)"
	for bad in 10.50.3.1/24 10.50.3.0/8 10.50.3.0 x/24; do
		run in_host "$STAGE" -q --subnet "$bad" true
		[ "$status" -eq 125 ] && [[ $output == usage:* ]] || fail "--subnet $bad: $status, $output"
	done
}

@test "stage13: the default subnet is the first of the list that no route of the host covers" {
	in_host ip route add 10.13.0.0/16 dev lo
	run in_host "$STAGE" -q -r "$ROOTFS_DIR" sh -c 'ip -4 -o addr show eth0 | awk "{ print \$4 }"'
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	same "$output" "172.29.13.2/24"
}

# Container A leaves, held by strace just after it took the lock to leave
# (its second flock() of /run/stage13.lock); B starts meanwhile. B must wait for the lock: A
# then counts no port and deletes the bridge, and B makes it afresh. Had B
# not waited, it would have joined the bridge A was about to delete.
@test "stage13: a container that starts while the last one leaves waits for it, and gets a bridge" {
	require_strace
	# nsenter itself, not in_host: $! must be the process that becomes strace
	nsenter -t "$HOST_NS" -n -- strace -qq -f -o /dev/null -e trace=flock -e inject=flock:delay_exit=60s:when=2 \
		"$STAGE" -q -r "$ROOTFS_DIR" sleep 1000 >"$TEST_TMP/a" 2>&1 3>&- &
	tracer=$!
	MORE_STAGES="$MORE_STAGES $tracer"
	wait_until has_child "$tracer"
	a=$(first_child_of "$tracer")
	wait_until has_child "$a"
	wait_until command_is "$(first_child_of "$a")" sleep
	kill -KILL "$(first_child_of "$a")"
	exec {lock}</run/stage13.lock
	wait_until lock_held "$lock"
	nsenter -t "$HOST_NS" -n -- "$STAGE" -q -r "$ROOTFS_DIR" ping -c 1 -W 5 10.13.13.1 >"$TEST_TMP/b" 2>&1 3>&- &
	b=$!
	MORE_STAGES="$MORE_STAGES $b"
	wait_until sleeps_in "$b" '*lock_inode_wait*'
	kill -KILL "$tracer"
	wait "$tracer" || true
	wait "$b" || fail "B: exit $?: $(cat "$TEST_TMP/b")"
	exec {lock}<&-
	wait_until process_gone "$a"
	only_lo || fail "left in the host namespace: $(in_host ip -o link show)"
}
lock_held() { ! { flock -n "$1" && flock -u "$1"; }; }

# The other way round: B joins, held by strace at its request to make its
# host end a port (its fifth sendto(): two dumps, a pair refused, a pair
# made, then this one), when A, the last, leaves. A must wait for B's lock:
# then it counts B's port and keeps the bridge. Had B let go of the lock
# once it found the bridge, A would have deleted it under B.
@test "stage13: the last container waits to leave while another joins, and leaves it the bridge" {
	require_strace
	start_named a
	nsenter -t "$HOST_NS" -n -- strace -qq -f -o /dev/null -e trace=sendto \
		-e inject=sendto:delay_enter=60s:when=5 \
		"$STAGE" -q -r "$ROOTFS_DIR" ping -c 1 -W 5 10.13.13.1 >"$TEST_TMP/b" 2>&1 3>&- &
	tracer=$!
	MORE_STAGES="$MORE_STAGES $tracer"
	wait_until has_child "$tracer"
	b=$(first_child_of "$tracer")
	wait_until in_host ip link show stage13-3
	kill -TERM "${PID_OF[a]}"
	wait_until sleeps_in "${PID_OF[a]}" '*lock_inode_wait*'
	kill -KILL "$tracer"
	wait "$tracer" || true
	wait_until process_gone "$b"
	grep -q ' 1 packets received' "$TEST_TMP/b" || fail "B: $(cat "$TEST_TMP/b")"
	wait "${PID_OF[a]}" || fail "A exited $?: $(cat "$TEST_TMP/a")"
	only_lo || fail "left in the host namespace: $(in_host ip -o link show)"
}

@test "stage13: nothing of the network is left once the stage returns, even after a failed start" {
	run in_host "$STAGE" -q -r "$ROOTFS_DIR" true
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	only_lo || fail "after a normal exit: $(in_host ip -o link show)"
	run in_host "$STAGE" -q -r "$ROOTFS_DIR" /etc/passwd # the network is made, then exec fails: 126
	[ "$status" -eq 126 ] || fail "exit $status: $output"
	only_lo || fail "after a failed start: $(in_host ip -o link show)"
	[ -z "$(in_host ip route show)" ] || fail "$(in_host ip route show)"
}

@test "stage13: as an ordinary user, the container starts with lo only, and says why" {
	cp "$STAGE" "$TEST_TMP/stage13"
	copy_rootfs "$TEST_TMP/rootfs"
	run in_host bash -c 'cd "$1" && exec setpriv --reuid=65534 --regid=65534 --clear-groups ./stage13 -q -r rootfs sh -c "ls /sys/class/net"' \
		bash "$TEST_TMP"
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	grep -qx "stage13: no CAP_NET_ADMIN on the host, so no veth pair: the container gets lo only" <<<"$output" ||
		fail "no notice: $output"
	same "${lines[-1]}" lo
	only_lo || fail "$(in_host ip -o link show)"
}

# The stage reads the host's chains (nf_tables) when it makes the bridge. An
# ip- or inet-family chain on the forward hook (docker's FORWARD) sees
# bridged IPv4 only where br_netfilter hands it over (bridge-nf-call-iptables,
# per namespace; on here, off where br_netfilter is not loaded). Each case
# is checked against what happens: c2 pings c1, or cannot.
@test "stage13: where the host's firewall drops bridged traffic, the stage says so in one line, and only there" {
	command -v nft >/dev/null || skip "needs nft: sudo apt-get install nftables"
	line="stage13: the host's firewall may drop what the containers send each other: a FORWARD policy of DROP, with br_netfilter; make doctor shows the fix"
	flag=/proc/sys/net/bridge/bridge-nf-call-iptables
	for family in ip inet none; do
		in_host nft flush ruleset
		[ "$family" = none ] || in_host nft "add table $family t; add chain $family t forward { type filter hook forward priority 0; policy drop; }"
		start_named c1
		start_named c2
		drops=0
		[ "$family" != none ] && [ "$(in_host cat "$flag" 2>/dev/null)" = 1 ] && drops=1
		# a ping that should be dropped waits 1 s; one that should pass, up to 5
		if in_container c2 ping -c 1 -W $((drops ? 1 : 5)) "$(address_of c1)" >/dev/null; then reached=1; else reached=0; fi
		[ "$reached" -ne "$drops" ] || fail "$family: c2 reached c1: $reached, with the chain dropping: $drops"
		said=$(grep -cxF "$line" "$TEST_TMP/c1" || true)
		[ "$said" -eq "$drops" ] || fail "$family: the line said $said times, dropping $drops: $(cat "$TEST_TMP/c1")"
		[ "$(grep -cF "$line" "$TEST_TMP/c2" || true)" -eq 0 ] || fail "$family: said again, by the second"
		stop_named c2
		stop_named c1
	done
	in_host nft flush ruleset
}

# Root inside holds CAP_NET_RAW in its own namespace: it may send a router
# advertisement out of eth0, which the bridge passes up to the host. A bridge
# with IPv6 on takes it, and routes the host's IPv6 through the container
# (CVE-2020-13401). The ping after it, on the same bridge, comes back once
# the host has had it.
@test "stage13: the bridge has IPv6 off before it is up: a router advertisement from inside gives the host no route" {
	[ -e /proc/sys/net/ipv6 ] || skip "this kernel has no IPv6"
	copy_rootfs "$TEST_TMP/rootfs"
	cc -static -o "$TEST_TMP/rootfs/bin/send-ra" "$ROOT/tests/send-ra.c" ||
		fail "cannot build tests/send-ra.c static (libc6-dev)"
	ROOTFS_DIR=$TEST_TMP/rootfs
	start_named c1
	in_container c1 sh -c 'send-ra eth0 && ping -c 1 -W 5 10.13.13.1 >/dev/null' || fail "the first advertisement"
	routes=$(in_host ip -6 route show default)
	[ -z "$routes" ] || fail "the host took a route from inside: $routes"
	# The control: with IPv6 on at the bridge, the same advertisement is taken.
	in_host sh -c 'echo 0 >/proc/sys/net/ipv6/conf/stage13br/disable_ipv6'
	in_container c1 sh -c 'send-ra eth0 && ping -c 1 -W 5 10.13.13.1 >/dev/null' || fail "the second advertisement"
	wait_until sh -c "nsenter -t $HOST_NS -n ip -6 route show default | grep -q 'dev stage13br'"
	stop_named c1
}
