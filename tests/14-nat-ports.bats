#!/usr/bin/env bats
# Stage 14: the way out (forwarding, masquerade) and the ways in (-p, dnat),
# by nf_tables over netlink. Every test runs the stage in a network
# namespace of its own, standing for the host, and "the internet" is one
# more, at 192.0.2.2 (helpers.bash: make_host_netns, make_internet). No
# packet goes anywhere else.

load helpers

setup() {
	setup_stage 14
	command -v nft >/dev/null || skip "needs nft: sudo apt-get install nftables"
	ROOTFS_DIR=${ROOTFS:-$ROOT/rootfs}
	[ -x "$ROOTFS_DIR/bin/sh" ] || fail "no rootfs at $ROOTFS_DIR: run make rootfs"
	make_host_netns
	make_internet
	in_host sh -c 'echo 0 >/proc/sys/net/ipv4/ip_forward' # as on a fresh machine
}

teardown() {
	teardown_stage
}

WAIT='trap "exit 0" TERM; sleep 1000 & wait'
# A web server in the container, on its port 80, which SIGTERM ends
SERVE="mkdir -p /www && echo 'hello from inside' >/www/index.html && httpd -p 80 -h /www && $WAIT"

# start_named NAME [stage args...] [-- command]: as in tests/13-bridge.bats,
# a container named NAME in the host namespace, in the background, once its
# command runs; the command is $WAIT unless given after --.
declare -gA PID_OF
start_named() {
	local name=$1 args=() command=(sh -c "$WAIT")
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do args+=("$1") && shift; done
	[ $# -eq 0 ] || command=("${@:2}")
	env --default-signal=INT,QUIT nsenter -t "$HOST_NS" -n -- "$STAGE" -r "$ROOTFS_DIR" \
		--name "$name" "${args[@]}" "${command[@]}" >"$TEST_TMP/$name" 2>&1 3>&- &
	PID_OF[$name]=$!
	MORE_STAGES="$MORE_STAGES $!"
	wait_until name_listens_of 14 "$name" in_host
}
stop_named() {
	kill -TERM "${PID_OF[$1]}"
	wait "${PID_OF[$1]}" || fail "container $1's stage exited $?: $(cat "$TEST_TMP/$1")"
}
in_container() {
	local name=$1
	shift
	in_host "$STAGE" -q exec "$name" "$@"
}

ruleset() { in_host nft list ruleset; }
forwarding() { in_host cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv4/conf/all/accept_redirects | xargs; }
no_ports() { [ -z "$(in_host bridge link show)" ]; } # the dead ones' go at the kernel's pace
only_lo_and_wan() { [ "$(in_host ip -o link show | awk -F': ' '{ print $2 }' | cut -d@ -f1 | xargs)" = "lo wan" ]; }
no_rule_of_ours() { ! ruleset | grep -q stage14; }

# The internet's web server, whose /cgi-bin/from says who asked (tools/
# from.cgi, tools/internet's too). busybox 1.35's wget crashes on -T: hence
# timeout.
serve_the_internet() {
	mkdir -p "$TEST_TMP/www/cgi-bin"
	cp "$ROOT/tools/from.cgi" "$TEST_TMP/www/cgi-bin/from"
	nsenter -t "$INTERNET_NS" -n -- "$ROOTFS_DIR/bin/busybox" httpd -f -p 80 -h "$TEST_TMP/www" 3>&- &
	MORE_STAGES="$MORE_STAGES $!"
	wait_until listens "$INTERNET_NS" 80
}
listens() { nsenter -t "$1" -n ss -ltnH "sport = :$2" | grep -q .; }
fetch() { "$@" timeout 10 "$ROOTFS_DIR/bin/busybox" wget -q -O - "$url"; } # url=... fetch [in_...]

# Masquerade goes by the link a packet came in by: root inside may give eth0
# an address of its choosing (198.51.100.5, TEST-NET-2), and that too leaves
# as the host's; the internet counts what reaches it from each. (rp_filter
# off, or the host drops it first: it has no route back to that address,
# and so no answer comes back either.)
@test "stage14: from inside, the internet answers a ping and a TCP connection, and sees the host's address, not the container's" {
	serve_the_internet
	run in_host "$STAGE" -q -r "$ROOTFS_DIR" sh -c \
		'ping -c 1 -W 5 192.0.2.2 >/dev/null && timeout 10 wget -q -O - http://192.0.2.2/cgi-bin/from'
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	same "${lines[-1]}" 192.0.2.1
	in_host sh -c 'for f in /proc/sys/net/ipv4/conf/*/rp_filter; do echo 0 >"$f"; done'
	in_internet nft 'add table ip seen; add chain ip seen in { type filter hook input priority 0; }
		add rule ip seen in ip saddr 198.51.100.5 counter; add rule ip seen in icmp type echo-request ip saddr 192.0.2.1 counter'
	run in_host "$STAGE" -q -r "$ROOTFS_DIR" sh -c 'ip addr add 198.51.100.5/32 dev eth0 && ping -c 1 -W 1 -I 198.51.100.5 192.0.2.2'
	[[ $output == *"1 packets transmitted"* ]] || fail "no ping sent: $output"
	same "$(in_internet nft list table ip seen | grep -o 'packets [0-9]*' | cut -d' ' -f2 | xargs)" "0 1"
}

# Only what is for the host is sent in: the host's own request to the
# internet's port 80, the container's -p 80 too, still reaches the internet.
@test "stage14: a server in the container answers on -p 8080:80 from the internet and from the host itself" {
	serve_the_internet
	start_named web -p 8080:80 -p 80:80 -- sh -c "$SERVE"
	wait_until listens "$(first_child_of "${PID_OF[web]}")" 80
	url=http://192.0.2.1:8080/ && same "$(fetch in_internet)" "hello from inside"
	url=http://192.0.2.1:8080/ && same "$(fetch in_host)" "hello from inside"
	url=http://10.13.13.1:8080/ && same "$(fetch in_host)" "hello from inside"
	url=http://192.0.2.2/cgi-bin/from && same "$(fetch in_host)" 192.0.2.1
	stop_named web
	url=http://192.0.2.1:8080/ && ! fetch in_internet 2>/dev/null || fail "answered after the container left"
}

@test "stage14: nft list ruleset shows the container's rules while it runs, and nothing of them after, even after kill -9 and the next start" {
	start_named c1 -p 8080:80 -p 5353:53/udp
	ruleset >"$TEST_TMP/rules"
	for rule in 'table ip stage14-c1' 'flags owner' 'iifname "stage14br" oifname != "stage14br" masquerade' \
		'iifname != "stage14br" fib daddr type local tcp dport 8080 dnat to 10.13.13.2:80' \
		'ip daddr != 127.0.0.0/8 fib daddr type local udp dport 5353 dnat to 10.13.13.2:53'; do
		grep -qF "$rule" "$TEST_TMP/rules" || fail "no '$rule' in: $(cat "$TEST_TMP/rules")"
	done
	stop_named c1
	no_rule_of_ours || fail "left: $(ruleset)"
	start_named c2 -p 8080:80
	kill -KILL "${PID_OF[c2]}"
	wait "${PID_OF[c2]}" || true
	no_rule_of_ours || fail "left after kill -9: $(ruleset)"
	wait_until no_ports
	run in_host "$STAGE" -q -r "$ROOTFS_DIR" -p 8080:80 true
	[ "$status" -eq 0 ] || fail "the next start: exit $status: $output"
	no_rule_of_ours || fail "left after the next start: $(ruleset)"
	[ -z "$(ruleset)" ] || fail "the ruleset is not empty: $(ruleset)"
}

# forwarding: "ip_forward accept_redirects". Writing ip_forward sets
# conf.all.accept_redirects to its opposite; a hardened host has it 0.
@test "stage14: forwarding is on while containers run, and as it was when the last leaves, after kill -9 too" {
	in_host sh -c 'echo 0 >/proc/sys/net/ipv4/conf/all/accept_redirects'
	start_named c1
	same "$(forwarding)" "1 0"
	start_named c2
	stop_named c1
	same "$(forwarding)" "1 0"
	stop_named c2
	same "$(forwarding)" "0 0"
	start_named c3
	kill -KILL "${PID_OF[c3]}"
	wait "${PID_OF[c3]}" || true
	same "$(forwarding)" "1 0" # no one left to put it back
	wait_until no_ports
	run in_host "$STAGE" -q -r "$ROOTFS_DIR" true
	[ "$status" -eq 0 ] || fail "the next start: exit $status: $output"
	same "$(forwarding)" "0 0"
	# On already: left on, whoever leaves last.
	in_host sh -c 'echo 1 >/proc/sys/net/ipv4/ip_forward'
	start_named c4
	stop_named c4
	same "$(forwarding)" "1 0"
	only_lo_and_wan || fail "left: $(in_host ip -o link show)"
}

@test "stage14: a host port already published is refused with exit 125, and the first container keeps it" {
	start_named c1 -p 8080:80 -- sh -c "$SERVE"
	run in_host "$STAGE" -q -r "$ROOTFS_DIR" -p 9090:80 -p 8080:80 true
	[ "$status" -eq 125 ] || fail "exit $status: $output"
	same "$output" "stage14: parent: take the host's port for -p: Address already in use (a program or a container has it)"
	[ "$(ruleset | grep -c '^table')" -eq 1 ] || fail "$(ruleset)"
	wait_until listens "$(first_child_of "${PID_OF[c1]}")" 80
	url=http://192.0.2.1:8080/ && same "$(fetch in_internet)" "hello from inside"
	run in_host "$STAGE" -q -r "$ROOTFS_DIR" -p 8080:80/udp true # udp is another port
	[ "$status" -eq 0 ] || fail "8080/udp: exit $status: $output"
	for bad in 8080 8080:0 70000:80 :80 8080:80/sctp -1:80; do
		run in_host "$STAGE" -q -p "$bad" true
		[ "$status" -eq 125 ] && [[ $output == usage:* ]] || fail "-p $bad: $status, $output"
	done
}

# The host's files are the test's own, bound over the host's in a mount
# namespace of its own: /etc/resolv.conf, and systemd-resolved's under a
# /run of its own (a tmpfs: the stage's lock file is made there too).
@test "stage14: /etc/resolv.conf inside is the host's, with systemd-resolved's servers for 127.0.0.53, and the image's is unchanged" {
	image_before=$(ls -l "$ROOTFS_DIR/etc")
	resolv() { # HOST_FILE [RESOLVED_FILE [OPTION, in place of -q]]
		printf "$1" >"$TEST_TMP/host"
		printf "${2:-}" >"$TEST_TMP/resolved"
		# Read first: TEST_TMP may be under /run (make vmtest's TMPDIR).
		in_host unshare -m sh -c 'host=$(cat "$1/host") && resolved=$(cat "$1/resolved") &&
			to=$(realpath -m /etc/resolv.conf) && mount -t tmpfs tmpfs /run &&
			mkdir -p /run/systemd/resolve "${to%/*}" && printf "%s\n" "$host" >/run/host &&
			if [ -n "$resolved" ]; then printf "%s\n" "$resolved" >/run/systemd/resolve/resolv.conf; fi &&
			touch "$to" && mount --bind /run/host "$to" &&
			umask 077 && exec "$2" ${4:--q} -r "$3" sh -c "stat -c %a /etc /etc/resolv.conf; cat /etc/resolv.conf"' \
			sh "$TEST_TMP" "$STAGE" "$ROOTFS_DIR" "${3:-}" 2>&1
	}
	# /etc 755 and the file 644, whatever the umask: programs inside that are
	# not root read it.
	same "$(resolv 'nameserver 192.0.2.53\nsearch example.test\n')" "$(printf '755\n644\nnameserver 192.0.2.53\nsearch example.test')"
	same "$(resolv 'nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch example.test\n' 'nameserver 192.0.2.54\nnameserver 192.0.2.55\n')" \
		"$(printf '755\n644\nnameserver 192.0.2.54\nnameserver 192.0.2.55')"
	# No systemd-resolved's file: the host's, less its loopback server, and
	# an IPv6 one, which the container has no way to.
	same "$(resolv 'nameserver 127.0.0.1\nnameserver 2001:db8::53\nnameserver 192.0.2.56\n')" "$(printf '755\n644\nnameserver 192.0.2.56')"
	# An IPv6 one left out does not send it to systemd-resolved's file.
	same "$(resolv 'nameserver 2001:db8::53\nnameserver 192.0.2.57\n' 'nameserver 192.0.2.58\n')" "$(printf '755\n644\nnameserver 192.0.2.57')"
	# None left: said, and the image's file (none here) is left as it is.
	resolv 'nameserver 127.0.0.1\noptions edns0\n' '' --name=none >"$TEST_TMP/none" || true
	grep -qx "child: no nameserver of the host's that the container can reach" "$TEST_TMP/none" || fail "$(cat "$TEST_TMP/none")"
	grep -q "can't stat '/etc/resolv.conf'" "$TEST_TMP/none" || fail "a file was written: $(cat "$TEST_TMP/none")"
	same "$(ls -l "$ROOTFS_DIR/etc")" "$image_before"
}

# docker's FORWARD and ufw's drop by policy: what the host forwards for the
# containers never gets out, whatever our table says, and the stage says so.
@test "stage14: where another table's FORWARD chain drops by policy, the stage says so in one line, and leaves that table as it was" {
	line="stage14: the host's firewall may drop what the containers send: a FORWARD chain drops by policy (docker's, ufw's?); make doctor shows the fix"
	in_host nft 'add table inet filter; add chain inet filter forward { type filter hook forward priority 0; policy drop; }'
	theirs=$(in_host nft list table inet filter)
	run in_host "$STAGE" -q -r "$ROOTFS_DIR" ping -c 1 -W 1 192.0.2.2
	[ "$status" -ne 0 ] || fail "the ping passed a forward chain that drops: $output"
	[ "$(grep -cxF "$line" <<<"$output")" -eq 1 ] || fail "not said once: $output"
	same "$(in_host nft list table inet filter)" "$theirs"
	in_host nft delete table inet filter
	run in_host "$STAGE" -q -r "$ROOTFS_DIR" ping -c 1 -W 5 192.0.2.2
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	! grep -qF "firewall" <<<"$output" || fail "said with no firewall: $output"
}

@test "stage14: as an ordinary user, no NAT and no port, with one line saying so" {
	cp "$STAGE" "$TEST_TMP/stage14"
	copy_rootfs "$TEST_TMP/rootfs"
	run in_host bash -c 'cd "$1" && exec setpriv --reuid=65534 --regid=65534 --clear-groups ./stage14 -q -r rootfs -p 8080:80 sh -c "ls /sys/class/net"' \
		bash "$TEST_TMP"
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	grep -qx "stage14: no CAP_NET_ADMIN on the host, so no veth pair: lo only, no NAT, no -p" <<<"$output" ||
		fail "no notice: $output"
	same "${lines[-1]}" lo
	[ -z "$(ruleset)" ] || fail "$(ruleset)"
	same "$(forwarding)" "0 1"
}
