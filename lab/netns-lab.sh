#!/usr/bin/env bash
# netns-lab.sh: a simulated VPC in network namespaces, for trying and testing configure-nat.sh.
#
#   priv1 10.0.16.11 ─┐
#   priv2 10.0.16.12 ─┤ br0 10.0.16.1 (private subnet 10.0.16.0/20)
#                     │
#   rogue 10.99.0.5 ──┤ rogue0 10.99.0.1 (a network outside the VPC CIDR)
#                     │
#                   vpcr: the VPC router, playing the private route table and the internet gateway
#                     │ pub0 10.0.0.1 ── ens5 10.0.0.10: nat (public subnet 10.0.0.0/24)
#                     │ inet0 198.51.100.1 ── eth0 198.51.100.20: inet (the internet host)
#
#   nat2: a second NAT host with no interface of its own yet: the instance that replaces nat,
#   to which `move-nat LAB` moves ens5 as the controller moves the NAT's interface on EC2.
#   nat 10.0.1.10 ── prim0 ── 10.0.1.20 nat2: each instance's own (primary) interface, by which
#   the replacement reaches the old NAT over the VPC for the connection-state handoff (at the
#   interface's address 10.0.0.10 while nat holds it, then at nat's own); nothing else uses it.
#
# As on EC2, the NAT host has one interface (named ens5, as on Amazon Linux 2023): traffic from
# the private subnet reaches it through the route table and leaves it by the same interface.
# vpcr sends everything from the private subnet, from rogue and from the internet host to the NAT
# host (table 100); what the NAT host sends back it routes normally. All addresses exist only in
# these namespaces; nothing leaves them.
#
# Usage: netns-lab.sh up LAB | down LAB | reset LAB | move-nat LAB | exec LAB HOST CMD... | hosts | cleanup-stale
#   LAB names the namespaces LAB-HOST; `natlab-PID-...` names are removed by cleanup-stale once
#   process PID is gone, so a crashed run never breaks the next one.
set -euo pipefail

readonly PROG=${0##*/}
readonly HOSTS=(vpcr nat priv1 priv2 rogue inet nat2)
UP_LAB=""

die() {
  printf '%s: error: %s\n' "$PROG" "$*" >&2
  exit 1
}

ns() { printf '%s-%s\n' "$1" "$2"; }

in_ns() {
  local lab=$1 host=$2
  shift 2
  ip netns exec "$(ns "$lab" "$host")" "$@"
}

check_name() {
  [[ $1 =~ ^[A-Za-z0-9_.-]{1,40}$ ]] || die "lab name '$1' must be 1-40 letters, digits, '.', '_' or '-'"
}

# A veth pair whose ends are created directly inside their namespaces, so that no name is ever
# taken in the root namespace.
link() {
  local lab=$1 a=$2 a_if=$3 b=$4 b_if=$5
  ip link add "$a_if" netns "$(ns "$lab" "$a")" type veth peer name "$b_if" netns "$(ns "$lab" "$b")"
}

addr() {
  local lab=$1 host=$2 dev=$3 cidr=$4
  in_ns "$lab" "$host" ip addr add "$cidr" dev "$dev"
  in_ns "$lab" "$host" ip link set "$dev" up
}

sysctl_in() {
  local lab=$1 host=$2 key=$3 value=$4
  in_ns "$lab" "$host" sh -c "printf '%s\n' '$value' > /proc/sys/${key//.//}"
}

up() {
  local lab=$1 host
  down "$lab" 2>/dev/null || true
  # A failure half-way (set -e exits) must not leave half a lab behind.
  UP_LAB=$lab
  trap 'down "$UP_LAB" 2>/dev/null' EXIT
  for host in "${HOSTS[@]}"; do
    ip netns add "$(ns "$lab" "$host")"
    in_ns "$lab" "$host" ip link set lo up
  done

  in_ns "$lab" vpcr ip link add br0 type bridge
  link "$lab" priv1 eth0 vpcr p1
  link "$lab" priv2 eth0 vpcr p2
  in_ns "$lab" vpcr ip link set p1 master br0
  in_ns "$lab" vpcr ip link set p2 master br0
  in_ns "$lab" vpcr ip link set p1 up
  in_ns "$lab" vpcr ip link set p2 up
  addr "$lab" vpcr br0 10.0.16.1/20
  addr "$lab" priv1 eth0 10.0.16.11/20
  addr "$lab" priv2 eth0 10.0.16.12/20

  link "$lab" rogue eth0 vpcr rogue0
  addr "$lab" vpcr rogue0 10.99.0.1/24
  addr "$lab" rogue eth0 10.99.0.5/24

  link "$lab" nat ens5 vpcr pub0
  addr "$lab" vpcr pub0 10.0.0.1/24
  addr "$lab" nat ens5 10.0.0.10/24

  link "$lab" nat prim0 nat2 prim0
  addr "$lab" nat prim0 10.0.1.10/24
  addr "$lab" nat2 prim0 10.0.1.20/24
  # On EC2 the instances share the NAT's subnet, so the replacement reaches the interface's
  # address while the old NAT holds it; here, through their own link.
  in_ns "$lab" nat2 ip route add 10.0.0.10/32 dev prim0

  link "$lab" inet eth0 vpcr inet0
  addr "$lab" vpcr inet0 198.51.100.1/24
  addr "$lab" inet eth0 198.51.100.20/24

  for host in priv1 priv2; do in_ns "$lab" "$host" ip route add default via 10.0.16.1; done
  in_ns "$lab" rogue ip route add default via 10.99.0.1
  in_ns "$lab" nat ip route add default via 10.0.0.1
  in_ns "$lab" inet ip route add default via 198.51.100.1

  # The route table of the private subnet (and, for the tests, of rogue and the internet side):
  # 0.0.0.0/0 to the NAT host's interface.
  sysctl_in "$lab" vpcr net.ipv4.ip_forward 1
  in_ns "$lab" vpcr ip route add default via 10.0.0.10 dev pub0 table 100
  for dev in br0 rogue0 inet0; do in_ns "$lab" vpcr ip rule add iif "$dev" lookup 100 pref 100; done
  # Like the VPC, the router sends no redirects: the NAT is the next hop on purpose.
  sysctl_in "$lab" vpcr net.ipv4.conf.all.send_redirects 0
  sysctl_in "$lab" vpcr net.ipv4.conf.pub0.send_redirects 0

  reset "$lab"
  trap - EXIT
}

# The NAT host as a fresh instance boots: forwarding off, no rules, no connection state.
reset() {
  local lab=$1
  in_ns "$lab" nat sh -c 'echo 0 > /proc/sys/net/ipv4/ip_forward'
  if command -v nft >/dev/null 2>&1; then in_ns "$lab" nat nft flush ruleset; fi
  if command -v iptables >/dev/null 2>&1; then
    for table in nat filter; do
      in_ns "$lab" nat iptables -t "$table" -F 2>/dev/null || true
      in_ns "$lab" nat iptables -t "$table" -X 2>/dev/null || true
    done
    in_ns "$lab" nat iptables -P FORWARD ACCEPT 2>/dev/null || true
    # iptables-nft leaves its tables behind; a fresh host has none.
    if command -v nft >/dev/null 2>&1; then in_ns "$lab" nat nft flush ruleset; fi
  fi
  if command -v conntrack >/dev/null 2>&1; then in_ns "$lab" nat conntrack -F >/dev/null 2>&1 || true; fi
}

# Moves the NAT's interface from nat to nat2. Like a detach and attach on EC2, the move keeps
# the interface's MAC but drops its addresses, routes and link state, so they are set again as
# amazon-ec2-net-utils sets them on an attach.
move_nat() {
  local lab=$1
  in_ns "$lab" nat ip link set ens5 netns "$(ns "$lab" nat2)"
  addr "$lab" nat2 ens5 10.0.0.10/24
  in_ns "$lab" nat2 ip route add default via 10.0.0.1
  # The VPC learns an interface's new place at the attach itself; the lab's router would
  # otherwise keep a failed ARP entry for the address from the moment the link was away.
  in_ns "$lab" vpcr ip neigh flush dev pub0
}

down() {
  local lab=$1 host name pid
  for host in "${HOSTS[@]}"; do
    name=$(ns "$lab" "$host")
    [ -e "/run/netns/$name" ] || continue
    for pid in $(ip netns pids "$name" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del "$name" 2>/dev/null || true
  done
}

# Removes labs of runs that died without tearing down: natlab-PID-* whose PID is not running.
cleanup_stale() {
  local name pid lab
  for name in $(ip netns list 2>/dev/null | awk '{print $1}'); do
    [[ $name =~ ^(natlab-([0-9]+)(-[A-Za-z0-9_.]+)*)-(vpcr|nat|priv1|priv2|rogue|inet|nat2)$ ]] || continue
    lab=${BASH_REMATCH[1]} pid=${BASH_REMATCH[2]}
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "$PROG: removing stale lab $lab (process $pid is gone)" >&2
      down "$lab"
    fi
  done
}

# The header comment above, without its markers.
usage() { sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"; }

main() {
  [ $# -gt 0 ] || die "usage: $PROG up|down|reset|move-nat|exec|hosts|cleanup-stale ..."
  local cmd=$1
  shift
  case "$cmd" in
    -h | --help) usage ;;
    up | down | reset | move-nat)
      [ $# -eq 1 ] || die "usage: $PROG $cmd LAB"
      check_name "$1"
      "${cmd//-/_}" "$1"
      ;;
    exec)
      [ $# -ge 3 ] || die "usage: $PROG exec LAB HOST CMD..."
      check_name "$1"
      in_ns "$@"
      ;;
    hosts) printf '%s\n' "${HOSTS[@]}" ;;
    cleanup-stale) cleanup_stale ;;
    *) usage >&2; die "unknown command '$cmd'" ;;
  esac
}

main "$@"
