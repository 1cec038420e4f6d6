#!/usr/bin/env bash
# Private network lab for the capture script (needs root, iproute2, nftables, coturn).
#
#   hs-alice (eth0 10.77.1.2/24) ---- hs-rtr (10.77.1.1 | 10.77.2.1, lo 10.77.0.1) ---- hs-bob (eth0 10.77.2.2/24)
#
# hs-rtr routes between the two hosts and runs coturn on 10.77.0.1:3478 (UDP and TCP).
# Nothing is connected to the machine's own network namespace: all traffic stays inside
# these namespaces.
#
# Usage:
#   netlab.sh up RUNDIR        create namespaces and start coturn (tears down leftovers first)
#   netlab.sh down [RUNDIR]    stop coturn and delete namespaces (safe to run any time)
#   netlab.sh loss PCT         drop PCT% of forwarded UDP in hs-rtr (direct media path)
#   netlab.sh noloss           remove the drop rule (also ends `block`)
#   netlab.sh block            drop 100% of forwarded packets (any protocol) in hs-rtr
#   netlab.sh unblock          print the drop counter, then same as noloss
#   netlab.sh delay RUNDIR MS JITTER_MS
#                              hold every forwarded UDP packet MS +- JITTER_MS (uniform) in hs-rtr,
#                              FIFO per direction: iptables NFQUEUE 0 + nfq-delay (built from
#                              nfq-delay.c into RUNDIR; installs iptables/libnetfilter-queue-dev
#                              with apt-get if missing). This kernel has no netem and no nft `queue`.
#   netlab.sh nodelay RUNDIR   remove the NFQUEUE rule and stop nfq-delay (held packets are released)
#   netlab.sh cap KBIT         tc tbf on both router veths: each direction capped to KBIT kbit/s
#   netlab.sh nocap            print the tbf statistics, then remove the tbf qdiscs
set -euo pipefail

NS_A=hs-alice
NS_B=hs-bob
NS_R=hs-rtr
TURN_IP=10.77.0.1
TURN_PORT=3478
TURN_REALM=hopscope.test
# Long-term credentials (lt-cred-mech). Test-only values, also used by capture.mjs.
TURN_USERS=("alice:alice-secret" "bob:bob-secret")

die() { echo "netlab: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root"
for bin in ip nft turnserver; do command -v "$bin" >/dev/null || die "missing $bin (apt-get install -y iproute2 nftables coturn)"; done

stop_turn() {
  local pidfile="$1/turnserver.pid"
  if [ -f "$pidfile" ]; then
    local pid; pid=$(cat "$pidfile")
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
  fi
}

down() {
  local rundir="${1:-}"
  [ -n "$rundir" ] && stop_turn "$rundir"
  # Any turnserver still living in our router namespace is ours: stop it by pid.
  if ip netns list | grep -qw "$NS_R"; then
    for pid in $(ip netns pids "$NS_R" 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
    sleep 0.3
    for pid in $(ip netns pids "$NS_R" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
  fi
  for ns in "$NS_A" "$NS_B" "$NS_R"; do
    ip netns list | grep -qw "$ns" && ip netns del "$ns"
  done
  # veth peers vanish with their namespace; nothing is left in the root namespace.
  return 0
}

up() {
  local rundir="$1"
  mkdir -p "$rundir"
  down "$rundir"
  ip netns add "$NS_R"
  ip netns add "$NS_A"
  ip netns add "$NS_B"
  for ns in "$NS_R" "$NS_A" "$NS_B"; do ip -n "$ns" link set lo up; done

  ip link add hs-ra netns "$NS_R" type veth peer name eth0 netns "$NS_A"
  ip link add hs-rb netns "$NS_R" type veth peer name eth0 netns "$NS_B"

  ip -n "$NS_R" addr add 10.77.1.1/24 dev hs-ra
  ip -n "$NS_R" addr add 10.77.2.1/24 dev hs-rb
  ip -n "$NS_R" addr add "$TURN_IP/32" dev lo
  ip -n "$NS_R" link set hs-ra up
  ip -n "$NS_R" link set hs-rb up
  ip netns exec "$NS_R" sysctl -qw net.ipv4.ip_forward=1

  ip -n "$NS_A" addr add 10.77.1.2/24 dev eth0
  ip -n "$NS_A" link set eth0 up
  ip -n "$NS_A" route add default via 10.77.1.1
  ip -n "$NS_B" addr add 10.77.2.2/24 dev eth0
  ip -n "$NS_B" link set eth0 up
  ip -n "$NS_B" route add default via 10.77.2.1
  # Keep the hosts IPv4-only so candidate lists stay readable.
  for ns in "$NS_A" "$NS_B"; do ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1; done

  # Empty table for the optional packet-loss rule.
  ip netns exec "$NS_R" nft add table inet hslab
  ip netns exec "$NS_R" nft add chain inet hslab lossy '{ type filter hook forward priority 0; policy accept; }'

  local conf="$rundir/turnserver.conf"
  {
    echo "listening-ip=$TURN_IP"
    echo "relay-ip=$TURN_IP"
    echo "listening-port=$TURN_PORT"
    echo "min-port=49160"
    echo "max-port=49260"
    echo "realm=$TURN_REALM"
    echo "lt-cred-mech"
    echo "fingerprint"
    for u in "${TURN_USERS[@]}"; do echo "user=$u"; done
    echo "no-tls"
    echo "no-dtls"
    echo "no-cli"
    echo "no-rfc5780"
    echo "no-stun-backward-compatibility"
    echo "allow-loopback-peers"
    echo "userdb=$rundir/turndb"
    echo "pidfile=$rundir/turnserver.pid"
    echo "log-file=$rundir/turnserver.log"
    echo "simple-log"
    echo "verbose"
  } > "$conf"
  ip netns exec "$NS_R" turnserver -c "$conf" -o >"$rundir/turnserver.stdout" 2>&1 \
    || die "turnserver failed to start (see $rundir)"
  for _ in $(seq 1 50); do
    if ip netns exec "$NS_R" ss -Hltn "sport = :$TURN_PORT" | grep -q LISTEN; then break; fi
    sleep 0.1
  done
  ip netns exec "$NS_R" ss -Hltn "sport = :$TURN_PORT" | grep -q LISTEN || die "coturn is not listening on tcp/$TURN_PORT"
  ip netns exec "$NS_R" ss -Hlun "sport = :$TURN_PORT" | grep -q "$TURN_IP" || die "coturn is not listening on udp/$TURN_PORT"
  for ns in "$NS_A" "$NS_B"; do
    ip netns exec "$ns" timeout 3 bash -c "exec 3<>/dev/tcp/$TURN_IP/$TURN_PORT" || die "$ns cannot reach coturn"
  done
  echo "netlab up: alice=10.77.1.2 bob=10.77.2.2 turn=$TURN_IP:$TURN_PORT"
}

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NFQ_QUEUE=0

ensure_delay_deps() {
  if command -v iptables >/dev/null && command -v gcc >/dev/null \
    && [ -f /usr/include/libnetfilter_queue/libnetfilter_queue.h ]; then return 0; fi
  echo "netlab: installing iptables, gcc, libnetfilter-queue-dev" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq iptables gcc libnetfilter-queue-dev >&2 \
    || { apt-get update -qq >&2 && apt-get install -y -qq iptables gcc libnetfilter-queue-dev >&2; } \
    || die "cannot install iptables/gcc/libnetfilter-queue-dev"
}

delay() {
  local rundir="$1" ms="$2" jitter="$3"
  ensure_delay_deps
  local bin="$rundir/nfq-delay"
  if [ ! -x "$bin" ] || [ "$HERE/nfq-delay.c" -nt "$bin" ]; then
    gcc -O2 -Wall -o "$bin" "$HERE/nfq-delay.c" -lnetfilter_queue -lnfnetlink || die "cannot build nfq-delay"
  fi
  nodelay "$rundir"
  ip netns exec "$NS_R" "$bin" "$NFQ_QUEUE" "$ms" "$jitter" >"$rundir/nfq-delay.log" 2>&1 &
  echo $! > "$rundir/nfq-delay.pid"
  # Wait until the queue is bound (the program logs its banner after binding).
  for _ in $(seq 1 50); do grep -q '^nfq-delay: queue' "$rundir/nfq-delay.log" 2>/dev/null && break; sleep 0.1; done
  kill -0 "$(cat "$rundir/nfq-delay.pid")" 2>/dev/null && grep -q '^nfq-delay: queue' "$rundir/nfq-delay.log" \
    || die "nfq-delay did not start: $(cat "$rundir/nfq-delay.log")"
  # No --queue-bypass: if nfq-delay dies, forwarded UDP stops and the capture fails loudly.
  ip netns exec "$NS_R" iptables -w -A FORWARD -p udp -j NFQUEUE --queue-num "$NFQ_QUEUE"
}

nodelay() {
  local rundir="$1"
  if ip netns exec "$NS_R" sh -c 'command -v iptables >/dev/null && iptables -w -S FORWARD 2>/dev/null' | grep -q NFQUEUE; then
    ip netns exec "$NS_R" iptables -w -D FORWARD -p udp -j NFQUEUE --queue-num "$NFQ_QUEUE"
  fi
  local pidfile="$rundir/nfq-delay.pid"
  if [ -f "$pidfile" ]; then
    local pid; pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid"
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
    cat "$rundir/nfq-delay.log" >&2 || true
  fi
}

cap() {
  local kbit="$1"
  # hs-ra egress = traffic towards alice (bob->alice), hs-rb egress = towards bob (alice->bob).
  # burst 4 kB (~3 full-size packets), queue bounded to ~150 ms at the capped rate.
  for dev in hs-ra hs-rb; do
    ip netns exec "$NS_R" tc qdisc replace dev "$dev" root tbf rate "${kbit}kbit" burst 4kb latency 150ms
  done
}

nocap() {
  # Print the tbf statistics (sent/dropped/overlimits) before removing them.
  for dev in hs-ra hs-rb; do
    if ip netns exec "$NS_R" tc qdisc show dev "$dev" | grep -q tbf; then
      echo "$dev: $(ip netns exec "$NS_R" tc -s qdisc show dev "$dev" | tr -s ' \n' ' ')"
      ip netns exec "$NS_R" tc qdisc del dev "$dev" root
    fi
  done
}

unblock() {
  # Print the drop counter of the current rule (if any) before removing it.
  ip netns exec "$NS_R" nft list chain inet hslab lossy | grep -o 'counter packets [0-9]* bytes [0-9]*' || true
  noloss
}

block() {
  ip netns exec "$NS_R" nft flush chain inet hslab lossy
  ip netns exec "$NS_R" nft add rule inet hslab lossy counter drop
}

loss() {
  local pct="$1"
  ip netns exec "$NS_R" nft flush chain inet hslab lossy
  ip netns exec "$NS_R" nft add rule inet hslab lossy meta l4proto udp numgen random mod 100 '<' "$pct" counter drop
}

noloss() { ip netns exec "$NS_R" nft flush chain inet hslab lossy; }

cmd="${1:-}"; shift || true
case "$cmd" in
  up) [ $# -eq 1 ] || die "usage: netlab.sh up RUNDIR"; up "$1" ;;
  down) down "${1:-}" ;;
  loss) [ $# -eq 1 ] || die "usage: netlab.sh loss PCT"; loss "$1" ;;
  noloss) noloss ;;
  block) block ;;
  unblock) unblock ;;
  delay) [ $# -eq 3 ] || die "usage: netlab.sh delay RUNDIR MS JITTER_MS"; delay "$1" "$2" "$3" ;;
  nodelay) [ $# -eq 1 ] || die "usage: netlab.sh nodelay RUNDIR"; nodelay "$1" ;;
  cap) [ $# -eq 1 ] || die "usage: netlab.sh cap KBIT"; cap "$1" ;;
  nocap) nocap ;;
  counters) ip netns exec "$NS_R" nft list chain inet hslab lossy ;;
  tcstats) for dev in hs-ra hs-rb; do ip netns exec "$NS_R" tc -s qdisc show dev "$dev"; done ;;
  *) die "usage: netlab.sh up RUNDIR | down [RUNDIR] | loss PCT | noloss | block | unblock | delay RUNDIR MS JITTER_MS | nodelay RUNDIR | cap KBIT | nocap | counters | tcstats" ;;
esac
