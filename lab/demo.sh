#!/usr/bin/env bash
# demo.sh (npm run lab): try the NAT without an AWS account.
#
# Builds the simulated VPC of netns-lab.sh, shows that a private host cannot reach the internet
# host, runs assets/boot/configure-nat.sh exactly as shipped on the NAT host, and shows two private
# hosts reaching the internet host through it: what the server saw, the NAT's rules and its
# connection-tracking entries. Tears everything down at the end, also on failure or Ctrl-C.
# Needs root, iproute2, nft (or iptables) and conntrack.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
readonly HERE ROOT
LOG=""
RUN_DIR=""
SERVER_PID=""
readonly LAB=natlab-$$-demo
readonly SERVER=198.51.100.20
export PATH="$PATH:/usr/sbin:/sbin"

die() {
  printf 'lab: error: %s\n' "$*" >&2
  exit 1
}

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

on() {
  local host=$1
  shift
  ip netns exec "$LAB-$host" "$@"
}

client() {
  local host=$1
  shift
  on "$host" node --import tsx "$HERE/peer-client.ts" --host "$SERVER" --port 8080 --timeout-ms 2000 "$@" || true
}

preflight() {
  [ "$(id -u)" -eq 0 ] || die "the lab needs root for network namespaces (try: sudo npm run lab)"
  local cmd
  for cmd in ip conntrack node; do
    command -v "$cmd" >/dev/null 2>&1 || die "$cmd is not installed (apt-get install iproute2 nftables conntrack)"
  done
  command -v nft >/dev/null 2>&1 || command -v iptables >/dev/null 2>&1 || die "install nftables or iptables"
}

teardown() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  bash "$HERE/netns-lab.sh" down "$LAB"
  [ -z "$LOG" ] || rm -f "$LOG"
  [ -z "$RUN_DIR" ] || rm -rf "$RUN_DIR"
}

usage() { sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"; }

main() {
  case "${1:-}" in
    "") ;;
    -h | --help) usage; return 0 ;;
    *) usage >&2; echo "demo.sh: unknown argument '$1'; it takes none" >&2; exit 2 ;;
  esac
  preflight
  cd "$ROOT"
  LOG=$(mktemp)
  # configure-nat.sh's record of its rules, which would otherwise go to this machine's /run.
  RUN_DIR=$(mktemp -d)
  trap teardown EXIT
  bash "$HERE/netns-lab.sh" cleanup-stale
  step "Building the simulated VPC ($LAB-*): private 10.0.16.0/20, NAT host 10.0.0.10 on ens5, internet host $SERVER"
  bash "$HERE/netns-lab.sh" up "$LAB"
  on inet node --import tsx "$HERE/peer-server.ts" --port 8080 --log "$LOG" >/dev/null &
  SERVER_PID=$!
  local waited=0
  until on inet bash -c "exec 3<>/dev/tcp/127.0.0.1/8080" 2>/dev/null; do
    [ $waited -lt 100 ] || die "the internet host's server did not start"
    sleep 0.1
    waited=$((waited + 1))
  done

  step "Before configure-nat.sh: priv1 tries to reach the internet host"
  client priv1 --token priv1-before

  step "On the NAT host: configure-nat.sh --vpc-cidr 10.0.0.0/16"
  on nat env NAT_RUN_DIR="$RUN_DIR" "$ROOT/assets/boot/configure-nat.sh" --vpc-cidr 10.0.0.0/16

  step "After: priv1 and priv2 connect, both from source port 40000"
  client priv1 --token priv1 --local-port 40000
  client priv2 --token priv2 --local-port 40000

  step "What the internet host's server saw (the NAT's address, two different ports)"
  cat "$LOG"

  step "A host outside the VPC CIDR (rogue, 10.99.0.5) is not served"
  client rogue --token rogue

  step "The NAT host's rules"
  if command -v nft >/dev/null 2>&1; then on nat nft list table ip nat_instance; else on nat iptables-save; fi

  step "The NAT host's connection tracking"
  on nat conntrack -L 2>/dev/null | grep 'dport=8080' || true

  step "Tearing down"
}

main "$@"
