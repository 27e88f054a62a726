#!/usr/bin/env bash
# configure-nat.sh: turn this Linux host into a NAT router for the given VPC CIDR blocks.
#
# The data plane alone: no AWS calls and no package installs, so the same file runs on an EC2
# NAT instance and in the project's network-namespace tests. It needs iproute2 and either nft
# or iptables. Every run replaces this script's own rules as a whole, so running it twice leaves
# the same ruleset, and it checks its own result before it reports success. Besides NAT, the rules
# drop new connections to the host itself from outside the VPC, and never forward to the special
# ranges of NO_FORWARD_TO. --check also refuses any change to the rules since they were applied.
#
# Usage: configure-nat.sh --vpc-cidr CIDR [--vpc-cidr CIDR ...] [--egress-interface IF]
#                         [--source-address A ...] [--backend auto|nft|iptables] [--check]
set -euo pipefail

readonly PROG=${0##*/}
# Overridable so that tests can point the script at a fake /proc/sys and /proc/meminfo.
SYSCTL_ROOT=${NAT_SYSCTL_ROOT:-/proc/sys}
MEMINFO=${NAT_MEMINFO:-/proc/meminfo}
readonly NFT_TABLE=nat_instance
readonly IPT_NAT_CHAIN=NAT-INSTANCE-POSTROUTING
readonly IPT_FWD_CHAIN=NAT-INSTANCE-FORWARD
readonly IPT_IN_CHAIN=NAT-INSTANCE-INPUT
# Each iptables chain of this script: its table, the built-in chain that jumps to it, its name.
readonly IPT_HOOKS=("nat POSTROUTING $IPT_NAT_CHAIN" "filter FORWARD $IPT_FWD_CHAIN" "filter INPUT $IPT_IN_CHAIN")
# Destinations never forwarded, whatever the source, VPC hosts included: "this network", loopback,
# link-local, multicast, and the reserved 240.0.0.0/4 (with the broadcast address). Linux itself
# forwards 169.254.0.0/16 and 240.0.0.0/4; a packet for 169.254.169.254 that reached this host
# would be answered by this instance's metadata service, its role's credentials included, with
# IMDSv2's hop limit as the only other barrier. 100.64.0.0/10 is not here: VPCs may use it.
readonly NO_FORWARD_TO=(0.0.0.0/8 127.0.0.0/8 169.254.0.0/16 224.0.0.0/4 240.0.0.0/4)
# Where the rules are recorded as applied, for --check. Like the rules, /run is gone at reboot.
readonly RUN_DIR=${NAT_RUN_DIR:-/run/nat-instance}
readonly RECORD=$RUN_DIR/rules

VPC_CIDRS=()
# The addresses flows leave with; none: the egress interface's own (masquerade).
SOURCES=()
readonly MAX_SOURCES=8
EGRESS_IF=""
EGRESS_GIVEN=false
BACKEND=auto
CHECK_ONLY=false
APPLYING=false
CONNTRACK_NOTE=""

die() {
  printf '%s: error: %s\n' "$PROG" "$*" >&2
  exit 1
}

usage() {
  cat <<EOF
Usage: $PROG --vpc-cidr CIDR [--vpc-cidr CIDR ...] [--egress-interface IF]
            [--source-address A ...] [--backend auto|nft|iptables] [--check]

Enables IPv4 forwarding and masquerades traffic from the VPC CIDR blocks as it leaves the
egress interface; forwards nothing else but replies to that traffic, and never to
${NO_FORWARD_TO[*]}. Drops new connections to this host from outside the VPC CIDR blocks.

  --vpc-cidr CIDR         a VPC CIDR block to serve (repeatable, at least one)
  --egress-interface IF   interface towards the internet (default: that of the default route)
  --source-address A      an address of the egress interface that flows leave with, each new
                          flow taking the next (repeatable, at most $MAX_SOURCES; default: masquerade,
                          the interface's own address). Each address has its own 64,512 ports
                          for each destination.
  --backend B             nft, iptables, or auto: nft when on PATH, else iptables (default auto)
  --check                 change nothing: exit 0 only if NAT is in place as these options say,
                          with the rules exactly as this script applied them

NAT_RUN_DIR (default /run/nat-instance) holds the record of the applied rules that --check reads.
EOF
}

parse_args() {
  while [ $# -gt 0 ]; do
    case "$1" in
      --vpc-cidr) [ $# -ge 2 ] || die "--vpc-cidr needs a value"; VPC_CIDRS+=("$2"); shift 2 ;;
      --egress-interface) [ $# -ge 2 ] || die "--egress-interface needs a value"; EGRESS_IF=$2; EGRESS_GIVEN=true; shift 2 ;;
      --source-address) [ $# -ge 2 ] || die "--source-address needs a value"; SOURCES+=("$2"); shift 2 ;;
      --backend) [ $# -ge 2 ] || die "--backend needs a value"; BACKEND=$2; shift 2 ;;
      --check) CHECK_ONLY=true; shift ;;
      -h | --help) usage; exit 0 ;;
      *) usage >&2; die "unknown argument '$1'" ;;
    esac
  done
  [ ${#VPC_CIDRS[@]} -gt 0 ] || { usage >&2; die "at least one --vpc-cidr is required"; }
  case "$BACKEND" in
    auto | nft | iptables) ;;
    *) die "--backend: got '$BACKEND'; expected auto, nft or iptables" ;;
  esac
}

# Prints the 32-bit number of a dotted-quad address, or fails.
ip_to_int() {
  local IFS=. a b c d
  read -r a b c d <<<"$1"
  printf '%d\n' $(((a << 24) | (b << 16) | (c << 8) | d))
}

int_to_ip() {
  printf '%d.%d.%d.%d\n' $((($1 >> 24) & 255)) $((($1 >> 16) & 255)) $((($1 >> 8) & 255)) $(($1 & 255))
}

# A CIDR block must be a network address with a prefix from /8 to /32: a shorter prefix would
# masquerade (and forward) most of the internet, which makes the host an open relay.
validate_cidr() {
  local cidr=$1 octet prefix addr mask network octets
  local re='^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})/([0-9]{1,2})$'
  [[ $cidr =~ $re ]] || die "--vpc-cidr: got '$cidr'; expected an IPv4 CIDR block such as 10.0.0.0/16"
  octets=("${BASH_REMATCH[@]:1:4}")
  prefix=${BASH_REMATCH[5]}
  for octet in "${octets[@]}"; do
    if ! [[ $octet =~ ^(0|[1-9][0-9]*)$ ]] || [ "$octet" -gt 255 ]; then
      die "--vpc-cidr: got '$cidr'; each address octet must be 0-255 without leading zeros"
    fi
  done
  if ! [[ $prefix =~ ^(0|[1-9][0-9]*)$ ]] || [ "$prefix" -lt 8 ] || [ "$prefix" -gt 32 ]; then
    die "--vpc-cidr: got '$cidr'; the prefix length must be from /8 to /32"
  fi
  addr=$(ip_to_int "${cidr%/*}")
  mask=$(((0xFFFFFFFF << (32 - prefix)) & 0xFFFFFFFF))
  network=$((addr & mask))
  [ "$network" -eq "$addr" ] ||
    die "--vpc-cidr: got '$cidr'; host bits are set (the network address is $(int_to_ip "$network")/$prefix)"
}

# Whether two validated blocks overlap: the wider one contains the network address of the other.
overlap() {
  local pa=${1#*/} pb=${2#*/} na nb p mask
  na=$(ip_to_int "${1%/*}") nb=$(ip_to_int "${2%/*}")
  p=$((pa < pb ? pa : pb))
  mask=$(((0xFFFFFFFF << (32 - p)) & 0xFFFFFFFF))
  [ $((na & mask)) -eq $((nb & mask)) ]
}

# No block twice, and none in a special range: the input chain admits the served blocks, and a
# host that served loopback or link-local sources would take them as its VPC's.
check_no_overlap() {
  local i j special
  for ((i = 0; i < ${#VPC_CIDRS[@]}; i++)); do
    for special in "${NO_FORWARD_TO[@]}"; do
      ! overlap "${VPC_CIDRS[i]}" "$special" || die "--vpc-cidr: got '${VPC_CIDRS[i]}'; expected no block within $special, a special range that is no network to serve"
    done
    for ((j = i + 1; j < ${#VPC_CIDRS[@]}; j++)); do
      ! overlap "${VPC_CIDRS[i]}" "${VPC_CIDRS[j]}" || die "--vpc-cidr: '${VPC_CIDRS[i]}' and '${VPC_CIDRS[j]}' overlap; give each block once"
    done
  done
}

# Each source address: a dotted quad, given once, and one of the egress interface's own, since
# replies to any other would never reach this host. At most MAX_SOURCES.
validate_sources() {
  local source seen=" " octet held
  [ "${#SOURCES[@]}" -le "$MAX_SOURCES" ] || die "--source-address: got ${#SOURCES[@]}; expected at most $MAX_SOURCES addresses"
  [ "${#SOURCES[@]}" -gt 0 ] || return 0
  held=$(ip -4 -o addr show dev "$EGRESS_IF" 2>/dev/null | awk '{ sub(/\/.*/, "", $4); print $4 }')
  for source in "${SOURCES[@]}"; do
    [[ $source =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$ ]] ||
      die "--source-address: got '${source:0:40}'; expected an IPv4 address such as 10.0.0.10"
    for octet in "${BASH_REMATCH[@]:1:4}"; do
      if ! [[ $octet =~ ^(0|[1-9][0-9]*)$ ]] || [ "$octet" -gt 255 ]; then
        die "--source-address: got '$source'; each octet must be 0-255 without leading zeros"
      fi
    done
    [[ $seen != *" $source "* ]] || die "--source-address: '$source' is given twice; give each address once"
    seen+="$source "
    grep -qxF "$source" <<<"$held" || die "--source-address: '$source' is not an address of $EGRESS_IF (it has: ${held//$'\n'/ }); replies to it would never reach this host"
  done
}

# What the NAT rule does to a flow leaving by the egress interface, in nft's words: masquerade,
# or a source address of SOURCES, the next for each new flow.
nft_nat_action() {
  local i map=""
  case "${#SOURCES[@]}" in
    0) echo masquerade ;;
    1) echo "snat to ${SOURCES[0]}" ;;
    *)
      for i in "${!SOURCES[@]}"; do map+="$i : ${SOURCES[i]}, "; done
      echo "snat to numgen inc mod ${#SOURCES[@]} map { ${map%, } }"
      ;;
  esac
}

# The same for iptables: each statistic rule takes every Nth of the flows still unmatched, so
# that each address gets an equal share; the last takes the rest.
iptables_nat_rules() {
  local cidr=$1 i n=${#SOURCES[@]}
  if [ "$n" -eq 0 ]; then
    printf -- '-A %s -s %s -o %s -j MASQUERADE\n' "$IPT_NAT_CHAIN" "$cidr" "$EGRESS_IF"
    return 0
  fi
  for ((i = 0; i < n - 1; i++)); do
    printf -- '-A %s -s %s -o %s -m statistic --mode nth --every %d --packet 0 -j SNAT --to-source %s\n' "$IPT_NAT_CHAIN" "$cidr" "$EGRESS_IF" $((n - i)) "${SOURCES[i]}"
  done
  printf -- '-A %s -s %s -o %s -j SNAT --to-source %s\n' "$IPT_NAT_CHAIN" "$cidr" "$EGRESS_IF" "${SOURCES[n - 1]}"
}

# The interface of the default route with the lowest metric: the one the kernel uses.
default_route_interface() {
  ip -4 route show default 2>/dev/null | awk '
    { metric = 0; dev = ""
      for (i = 1; i < NF; i++) { if ($i == "dev") dev = $(i + 1); if ($i == "metric") metric = $(i + 1) }
      if (dev != "" && (best == "" || metric + 0 < best_metric)) { best = dev; best_metric = metric + 0 } }
    END { if (best != "") print best }'
}

resolve_egress_interface() {
  # An empty --egress-interface is a caller's bug (an unset variable), never "the default".
  if [ "$EGRESS_GIVEN" = false ]; then
    EGRESS_IF=$(default_route_interface)
    [ -n "$EGRESS_IF" ] || die "no IPv4 default route, so no egress interface; add a default route or pass --egress-interface"
  fi
  [[ $EGRESS_IF =~ ^[A-Za-z0-9_.:-]{1,15}$ ]] || die "--egress-interface: got '$EGRESS_IF'; not a valid interface name"
  local link
  link=$(ip -o link show dev "$EGRESS_IF" 2>/dev/null) || die "--egress-interface: no interface named '$EGRESS_IF' on this host"
  [[ $link == *"<"*UP*">"* ]] || die "egress interface '$EGRESS_IF' is down"
}

has() { command -v "$1" >/dev/null 2>&1; }

resolve_backend() {
  # A check looks at whichever backend holds this script's rules.
  if [ "$BACKEND" = auto ] && [ "$CHECK_ONLY" = true ]; then
    if has nft && nft list table ip "$NFT_TABLE" >/dev/null 2>&1; then
      BACKEND=nft
    elif has iptables && iptables -t nat -S "$IPT_NAT_CHAIN" >/dev/null 2>&1; then
      BACKEND=iptables
    fi
  fi
  if [ "$BACKEND" = auto ]; then
    if has nft; then
      BACKEND=nft
    elif has iptables; then
      BACKEND=iptables
    else
      die "neither nft nor iptables is on PATH; install nftables (or iptables) first"
    fi
  fi
  has "$BACKEND" || die "--backend $BACKEND: '$BACKEND' is not on PATH"
  if [ "$BACKEND" = iptables ]; then
    has iptables-restore || die "iptables-restore is not on PATH (part of the iptables package)"
  fi
}

# Kernel settings are named by their path under /proc/sys, since interface names may hold dots.
sysctl_set() {
  local path=$SYSCTL_ROOT/$1
  [ -w "$path" ] || die "cannot write $path; is this run as root?"
  printf '%s\n' "$2" >"$path" || die "cannot set $path to $2"
}

sysctl_get() { cat "$SYSCTL_ROOT/$1" 2>/dev/null || true; }

apply_kernel_settings() {
  sysctl_set net/ipv4/ip_forward 1
  # Replies leave by the interface the requests came in on (on EC2 a single ENI carries both
  # directions), so ICMP redirects would only tell private hosts to skip the NAT.
  sysctl_set net/ipv4/conf/all/send_redirects 0
  sysctl_set "net/ipv4/conf/$EGRESS_IF/send_redirects" 0
  # Loose reverse-path filtering: drop sources with no route back at all, but allow the
  # asymmetric paths that policy routing over several ENIs produces (strict mode drops those).
  sysctl_set net/ipv4/conf/all/rp_filter 2
  sysctl_set "net/ipv4/conf/$EGRESS_IF/rp_filter" 2
}

# The kernel sizes the connection-tracking table at one entry per 128 KiB of memory below 1 GiB:
# about 3,600 on a 512 MiB t4g.nano, so such a NAT would drop new flows past a few thousand
# concurrent ones (measured in the lab: see README, "Data-plane figures"). One entry per 2 KiB,
# at least 65,536, uses at most about 18% of memory when the table is full (an entry with its NAT
# mapping takes about 370 bytes, measured by npm run bench), and one hash bucket per entry keeps
# lookups short. Never lowered; where the table
# belongs to another network namespace (containers, the lab) it is left as it is.
size_conntrack() {
  local mem_kib want current
  mem_kib=$(awk '/^MemTotal:/ {print $2}' "$MEMINFO" 2>/dev/null || true)
  current=$(sysctl_get net/netfilter/nf_conntrack_max)
  [[ $current =~ ^[0-9]+$ ]] || current=0
  CONNTRACK_NOTE="conntrack table $current entries"
  [[ $mem_kib =~ ^[0-9]+$ ]] || { CONNTRACK_NOTE+=" (MemTotal unreadable, left as it is)"; return 0; }
  want=$((mem_kib / 2))
  [ "$want" -ge 65536 ] || want=65536
  [ "$want" -le 4194304 ] || want=4194304
  [ "$current" -lt "$want" ] || return 0
  if [ -w "$SYSCTL_ROOT/net/netfilter/nf_conntrack_max" ] && [ -w "$SYSCTL_ROOT/net/netfilter/nf_conntrack_buckets" ]; then
    sysctl_set net/netfilter/nf_conntrack_buckets "$want"
    sysctl_set net/netfilter/nf_conntrack_max "$want"
    CONNTRACK_NOTE="conntrack table $want entries (raised from $current)"
  else
    CONNTRACK_NOTE+=" (the host's; not settable in this namespace)"
  fi
}

# Source ports: the kernel's default, which keeps a private host's own port when it is free and
# otherwise searches from a random start; not fully-random (iptables' --random-fully), which
# searches for every flow and clashed more in the runs of this work. With one public address,
# 55,000 concurrent connections to one destination address and port, a NAT gateway's documented
# figure per address, are held with no failed connection and at most a couple of clashes (a
# first packet dropped at insertion, then resent); 60,000 (93% of the 64,512 ports) with none
# failed but a few more; 64,000 not. Past 55,000, --source-address gives more addresses: 64,000
# on two with no clash (test/configure-nat.scale.dataplane.test.ts holds 60,000, npm run bench).
#
# Both chains keep replies and whatever comes from the VPC, and drop the rest by policy. Packets
# of established flows, nearly all of them, stop at the first rule; only a flow's first packet
# meets the destination and source checks, so nothing reaches a special destination either way.
nft_ruleset() {
  local elements special
  elements=$(printf '%s, ' "${VPC_CIDRS[@]}")
  special=$(printf '%s, ' "${NO_FORWARD_TO[@]}")
  cat <<EOF
table ip $NFT_TABLE
delete table ip $NFT_TABLE
table ip $NFT_TABLE {
	set vpc_cidrs {
		type ipv4_addr
		flags interval
		elements = { ${elements%, } }
	}
	chain input {
		type filter hook input priority filter; policy drop;
		iif "lo" accept
		ct state established,related accept
		ip saddr @vpc_cidrs accept
	}
	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state established,related accept
		ct state invalid drop
		ip daddr { ${special%, } } drop
		ip saddr @vpc_cidrs accept
	}
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "$EGRESS_IF" ip saddr @vpc_cidrs ip daddr != @vpc_cidrs $(nft_nat_action)
	}
}
EOF
}

# Lets replies and what comes from the VPC leave CHAIN with VERDICT; drops the rest.
ipt_vpc_only() {
  local chain=$1 verdict=$2 cidr
  printf -- '-A %s -m conntrack --ctstate RELATED,ESTABLISHED -j %s\n' "$chain" "$verdict"
  for cidr in "${VPC_CIDRS[@]}"; do printf -- '-A %s -s %s -j %s\n' "$chain" "$cidr" "$verdict"; done
  printf -- '-A %s -j DROP\n' "$chain"
}

iptables_rules() {
  local cidr
  printf '*nat\n:%s - [0:0]\n' "$IPT_NAT_CHAIN"
  for cidr in "${VPC_CIDRS[@]}"; do printf -- '-A %s -d %s -j RETURN\n' "$IPT_NAT_CHAIN" "$cidr"; done
  for cidr in "${VPC_CIDRS[@]}"; do iptables_nat_rules "$cidr"; done
  printf 'COMMIT\n*filter\n:%s - [0:0]\n:%s - [0:0]\n' "$IPT_IN_CHAIN" "$IPT_FWD_CHAIN"
  # What passes returns to INPUT, where the host's own rules still apply: this chain only ever
  # takes traffic away, as an nft chain does (its accept does not overrule another chain's drop).
  printf -- '-A %s -i lo -j RETURN\n' "$IPT_IN_CHAIN"
  ipt_vpc_only "$IPT_IN_CHAIN" RETURN
  for cidr in "${NO_FORWARD_TO[@]}"; do printf -- '-A %s -d %s -j DROP\n' "$IPT_FWD_CHAIN" "$cidr"; done
  printf -- '-A %s -m conntrack --ctstate INVALID -j DROP\n' "$IPT_FWD_CHAIN"
  ipt_vpc_only "$IPT_FWD_CHAIN" ACCEPT
  # FORWARD holds the jump and nothing else: a rule before it would bypass this script's chain,
  # and one after it is never reached. Replaced in the same commit, so never open in between.
  printf -- '-F FORWARD\n-A FORWARD -j %s\nCOMMIT\n' "$IPT_FWD_CHAIN"
}

# Removes every jump from a built-in chain to one of this script's chains (a hundred at most).
ipt_unhook() {
  local table=$1 builtin=$2 chain=$3 n
  for ((n = 0; n < 100; n++)); do
    iptables -t "$table" -D "$builtin" -j "$chain" 2>/dev/null || return 0
  done
}

# The rules of INPUT ahead of the jump to this script's chain that could end the packet's way
# through INPUT (any but LOG, NFLOG and counting rules), so that it would never reach the jump.
ipt_input_bypass() {
  iptables -t filter -S INPUT 2>/dev/null | awk -v jump="-A INPUT -j $IPT_IN_CHAIN" '
    $0 == jump { exit }
    $1 == "-A" && / -[jg] / && !/ -j (NF)?LOG( |$)/ { print }'
}

# Removes this script's rules from the backend not in use, so that a switch of backend does
# not leave two sets of rules behind.
remove_other_backend() {
  local hook table builtin chain
  if [ "$BACKEND" = nft ] && has iptables; then
    for hook in "${IPT_HOOKS[@]}"; do
      read -r table builtin chain <<<"$hook"
      ipt_unhook "$table" "$builtin" "$chain"
      { iptables -t "$table" -F "$chain" && iptables -t "$table" -X "$chain"; } 2>/dev/null || true
    done
  elif [ "$BACKEND" = iptables ] && has nft; then
    nft delete table ip "$NFT_TABLE" 2>/dev/null || true
  fi
}

apply_rules() {
  remove_other_backend
  if [ "$BACKEND" = nft ]; then
    nft_ruleset | nft -f - || die "nft could not load the NAT ruleset"
  else
    iptables_rules | iptables-restore --noflush || die "iptables-restore could not load the NAT rules"
    iptables -t nat -C POSTROUTING -j "$IPT_NAT_CHAIN" 2>/dev/null ||
      iptables -t nat -I POSTROUTING 1 -j "$IPT_NAT_CHAIN" || die "cannot hook $IPT_NAT_CHAIN into POSTROUTING"
    if ! iptables -t filter -C INPUT -j "$IPT_IN_CHAIN" 2>/dev/null || [ -n "$(ipt_input_bypass)" ]; then
      ipt_unhook filter INPUT "$IPT_IN_CHAIN"
      iptables -t filter -I INPUT 1 -j "$IPT_IN_CHAIN" || die "cannot hook $IPT_IN_CHAIN into INPUT"
    fi
  fi
}

# This script's rules as the kernel lists them back, in the format of the nft or iptables on
# this host. The policy of FORWARD is left out: FORWARD holds only the jump to a chain that
# ends in DROP, so its policy never applies.
listing() {
  local hook table builtin chain
  if [ "$BACKEND" = nft ]; then
    nft list table ip "$NFT_TABLE"
  else
    for hook in "${IPT_HOOKS[@]}"; do
      read -r table builtin chain <<<"$hook"
      iptables -t "$table" -S "$chain" || return 1
    done
    iptables -t filter -S FORWARD | awk '$1 != "-P"'
  fi
}

what_is_checked() {
  if [ "$BACKEND" = nft ]; then echo "the nft table ip $NFT_TABLE"; else echo "the iptables chains FORWARD and NAT-INSTANCE-*"; fi
}

# The options the rules were applied with: the first line of the record.
options_line() {
  printf '# %s --backend %s --egress-interface %s' "$PROG" "$BACKEND" "$EGRESS_IF"
  printf -- ' --vpc-cidr %s' "${VPC_CIDRS[@]}"
  [ "${#SOURCES[@]}" -eq 0 ] || printf -- ' --source-address %s' "${SOURCES[@]}"
  printf '\n'
}

# Why a record instead of comparing with the rules this script generates: nft and iptables list
# rules back in their own format, which differs between versions (Amazon Linux's and Debian's
# nft merge, order and spell things differently). Recorded as this very nft or iptables listed
# them right after they were applied and verified, the listing compares line for line.
record_rules() {
  local tmp
  if ! mkdir -p "$RUN_DIR" 2>/dev/null || ! tmp=$(mktemp "$RUN_DIR/.rules.XXXXXX" 2>/dev/null); then
    die "cannot write a record of the rules in $RUN_DIR (set NAT_RUN_DIR to a writable directory)"
  fi
  if ! { options_line && listing; } >"$tmp" || ! mv -f "$tmp" "$RECORD"; then
    rm -f "$tmp"
    die "cannot write a record of the rules to $RECORD"
  fi
}

# Prints, for the error message, the lines only in the live listing (+) and only in the record
# (-), each with the nft chain or set it is in, ten at most.
differences() {
  awk '
    /^\t(chain|set|map) [^ ]+ \{$/ { where = $1 " " $2 }
    /^table / { where = "" }
    { key = where "\t" $0; text = $0; sub(/^[ \t]+/, "", text); if (where != "") text = text "   (in " where ")" }
    NR == FNR { order[++n] = key; shown[key] = text; recorded[key]++; next }
    recorded[key] > 0 { recorded[key]--; next }
    { out[++m] = "  + " text }
    END {
      for (i = 1; i <= n; i++) if (recorded[order[i]]-- > 0) out[++m] = "  - " shown[order[i]]
      if (m == 0) out[++m] = "  (the same lines in another order)"
      for (i = 1; i <= m && i <= 10; i++) print out[i]
      if (m > 10) print "  ... and " m - 10 " more"
    }' "$1" "$2"
}

# --check: the live rules must be exactly those this script applied. A rule added beside them,
# such as an accept in the forward chain, or a changed policy, passes the checks of verify()
# yet can make this host an open relay. A missing record fails too: the caller then applies
# the rules again, which records them anew. Whoever is root can rewrite the record as well as
# the rules: this catches other programs and mistakes, not an intruder with root.
matches_record() {
  local live header
  if [ ! -r "$RECORD" ]; then
    printf '%s: error: no record of the rules this script applied (%s); apply them to write it\n' "$PROG" "$RECORD" >&2
    return 1
  fi
  header=$(head -n 1 "$RECORD")
  if [ "$header" != "$(options_line)" ]; then
    printf '%s: error: the rules were applied with other options: %s\n' "$PROG" "${header#\# }" >&2
    return 1
  fi
  live=$(listing 2>&1) || true
  if [ "$live" != "$(tail -n +2 "$RECORD")" ]; then
    printf '%s: error: rules this script did not write (+), or missing ones it wrote (-), in %s:\n' "$PROG" "$(what_is_checked)" >&2
    differences <(tail -n +2 "$RECORD") <(printf '%s\n' "$live") >&2
    return 1
  fi
}

# The table conntrack-handoff.sh loads on a replacing instance until its finish: it passes
# established flows only, so left behind it would block every new flow while these rules look
# right. Checked in --check only, since this script runs while the handoff still holds it.
readonly HANDOFF_TABLE=nat_instance_handoff

no_handoff_left() {
  if has nft && nft list table ip "$HANDOFF_TABLE" >/dev/null 2>&1; then
    printf '%s: error: the handoff table %s is still loaded, which passes established flows only; run conntrack-handoff.sh finish\n' "$PROG" "$HANDOFF_TABLE" >&2
    return 1
  fi
}

# Reads the state back from the kernel: a NAT that is not in place must never report success.
verify() {
  local cidr listing bypass chain problems=()
  [ "$(sysctl_get net/ipv4/ip_forward)" = 1 ] || problems+=("IPv4 forwarding is off")
  # The rules filter IPv4 only: a host that forwarded IPv6 would relay it unfiltered.
  [ "$(sysctl_get net/ipv6/conf/all/forwarding)" != 1 ] || problems+=("IPv6 forwarding is on, and these rules filter IPv4 only")
  if [ "$BACKEND" = nft ]; then
    if listing=$(nft list table ip "$NFT_TABLE" 2>/dev/null); then
      [[ $listing == *"oifname \"$EGRESS_IF\" ip saddr @vpc_cidrs"*"$(nft_nat_action)"* ]] ||
        problems+=("no NAT rule ($(nft_nat_action)) for egress interface $EGRESS_IF")
      for chain in forward input; do
        [[ $listing =~ chain\ $chain\ \{[[:space:]]+type\ filter\ hook\ $chain\ [^\;]+\;\ policy\ drop\; ]] ||
          problems+=("the $chain chain does not drop by default")
      done
      for cidr in "${VPC_CIDRS[@]}"; do
        [[ $listing =~ [{\ ,]${cidr//./\\.}[,\ }] ]] || [[ $cidr == */32 && $listing =~ [{\ ,]${cidr%/32}[,\ }] ]] ||
          problems+=("$cidr is missing from the vpc_cidrs set")
      done
    else
      problems+=("nft table ip $NFT_TABLE does not exist")
    fi
  else
    iptables -t nat -C POSTROUTING -j "$IPT_NAT_CHAIN" 2>/dev/null || problems+=("POSTROUTING does not jump to $IPT_NAT_CHAIN")
    iptables -t filter -C FORWARD -j "$IPT_FWD_CHAIN" 2>/dev/null || problems+=("FORWARD does not jump to $IPT_FWD_CHAIN")
    iptables -t filter -C INPUT -j "$IPT_IN_CHAIN" 2>/dev/null || problems+=("INPUT does not jump to $IPT_IN_CHAIN")
    bypass=$(ipt_input_bypass)
    [ -z "$bypass" ] || problems+=("INPUT lets packets past $IPT_IN_CHAIN: ${bypass//$'\n'/, }")
    for cidr in "${VPC_CIDRS[@]}"; do
      local last
      last=$(iptables_nat_rules "$cidr" | tail -n 1)
      # shellcheck disable=SC2086 # the rule's words, from validated values
      iptables -t nat -C ${last#-A } 2>/dev/null || problems+=("no NAT rule for $cidr out of $EGRESS_IF")
      iptables -t filter -C "$IPT_FWD_CHAIN" -s "$cidr" -j ACCEPT 2>/dev/null ||
        problems+=("no forward rule for $cidr")
    done
    for chain in "$IPT_FWD_CHAIN" "$IPT_IN_CHAIN"; do
      iptables -t filter -C "$chain" -j DROP 2>/dev/null || problems+=("$chain does not end in DROP")
    done
  fi
  if [ ${#problems[@]} -gt 0 ]; then
    printf '%s: error: NAT is not in place: %s\n' "$PROG" "$(IFS=';'; echo "${problems[*]}")" >&2
    return 1
  fi
}

# After a failure while applying, takes down what this run set up: a host that forwards without
# masquerading would leak private addresses, and half a NAT must not look like a working one.
rollback() {
  local hook table builtin chain
  printf '%s: rolling back: forwarding off, NAT rules removed\n' "$PROG" >&2
  printf '0\n' >"$SYSCTL_ROOT/net/ipv4/ip_forward" 2>/dev/null || true
  rm -f "$RECORD"
  if has nft; then nft delete table ip "$NFT_TABLE" 2>/dev/null || true; fi
  if has iptables; then
    for hook in "${IPT_HOOKS[@]}"; do
      read -r table builtin chain <<<"$hook"
      ipt_unhook "$table" "$builtin" "$chain"
    done
  fi
}

rollback_on_failure() {
  local status=$?
  if [ "$status" -ne 0 ] && [ "$APPLYING" = true ]; then rollback; fi
}

main() {
  local cidr
  parse_args "$@"
  for cidr in "${VPC_CIDRS[@]}"; do validate_cidr "$cidr"; done
  check_no_overlap
  resolve_egress_interface
  validate_sources
  resolve_backend
  if [ "$CHECK_ONLY" = true ]; then
    if ! verify || ! matches_record || ! no_handoff_left; then exit 1; fi
  else
    APPLYING=true
    trap rollback_on_failure EXIT
    apply_kernel_settings
    apply_rules
    size_conntrack
    verify || exit 1
    record_rules
    APPLYING=false
  fi
  printf '%s: NAT %s: %s %s out of %s (%s)%s\n' "$PROG" \
    "$([ "$CHECK_ONLY" = true ] && echo verified || echo active)" "${VPC_CIDRS[*]}" \
    "$([ "${#SOURCES[@]}" -eq 0 ] && echo masqueraded || echo "translated to ${SOURCES[*]}")" "$EGRESS_IF" "$BACKEND" \
    "${CONNTRACK_NOTE:+; $CONNTRACK_NOTE}"
}

main "$@"
