#!/usr/bin/env bash
# nat-lib.sh: what load.sh and nat-bootstrap.sh share, sourced by both: settings and functions,
# no main. The caller sets PROG and runs under `set -euo pipefail`.

# Overridable so that tests can run the scripts against fakes.
IMDS=${NAT_IMDS_ENDPOINT:-http://169.254.169.254}
SYS_CLASS_NET=${NAT_SYS_CLASS_NET:-/sys/class/net}
NETWORKD_DIR=${NAT_NETWORKD_DIR:-/etc/systemd/network}
RETRY_ATTEMPTS=${NAT_RETRY_ATTEMPTS:-8}
RETRY_BASE_SECONDS=${NAT_RETRY_BASE_SECONDS:-2}
WAIT_SECONDS=${NAT_WAIT_SECONDS:-120}
# How long to wait for the controller to attach the interface (a replacement waits for its
# predecessor's routes to move).
ENI_WAIT_SECONDS=${NAT_ENI_WAIT_SECONDS:-600}
# Below the metric amazon-ec2-net-utils gives the primary interface's default route.
ROUTE_METRIC=10
IMDS_TOKEN=""

# Each form of value: an extended regular expression, then what it is. Each script adds its own.
OCTET='(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])'
declare -gA FORM=(
  [region]='^[a-z]{2}(-[a-z]+)+-[0-9]+$ an AWS region'
  [stack]='^[A-Za-z][A-Za-z0-9-]{0,127}$ a CloudFormation stack name'
  [resource]='^[A-Za-z0-9]{1,255}$ a logical resource ID'
  [eni]='^eni-[0-9a-f]{8,17}$ a network interface ID'
  [instance]='^i-[0-9a-f]{8,17}$ an instance ID'
  [subnet]="^($OCTET\.){3}$OCTET/(1[6-9]|2[0-8])$ an IPv4 subnet from /16 to /28"
)

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() {
  printf '%s: error: %s\n' "$PROG" "$*" >&2
  exit 1
}
has() { command -v "$1" >/dev/null 2>&1; }

# A value for a message: its first 80 bytes, ? for any but printable ASCII (so no line break).
shown() { local LC_ALL=C v=${1:0:80}; printf "'%s'" "${v//[^ -~]/?}"; }

# Whether $2 has the form $1: at most 1024 bytes and matched byte by byte, so no look-alike passes.
valid() {
  local LC_ALL=C
  [[ ${#2} -le 1024 && $2 =~ ${FORM[$1]%% *} ]]
}

# Dies unless value $2 of option $1 has the form $3.
check_value() { valid "$3" "$2" || die "$1: got $(shown "$2"); expected ${FORM[$3]#* }"; }

# Runs a command until it succeeds, waiting twice as long after each failure (capped at 30 s).
retry() {
  local attempt=1 delay=$RETRY_BASE_SECONDS
  until "$@"; do
    if [ "$attempt" -ge "$RETRY_ATTEMPTS" ]; then
      log "giving up after $attempt attempts: $*"
      return 1
    fi
    log "attempt $attempt failed, retrying in ${delay}s: $*"
    sleep "$delay"
    attempt=$((attempt + 1))
    delay=$((delay * 2 > 30 ? 30 : delay * 2))
  done
}

imds_token() {
  IMDS_TOKEN=$(curl -sSf --max-time 5 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 900' "$IMDS/latest/api/token")
}

imds() { curl -sSf --max-time 5 -H "X-aws-ec2-metadata-token: $IMDS_TOKEN" "$IMDS/latest/meta-data/$1"; }

# The MAC of the given interface if it is attached to this instance, from instance metadata: an
# EC2 API call may not get through yet, and its regional problems must never fail a working NAT.
eni_mac() {
  local eni=$1 mac
  for mac in $(imds network/interfaces/macs/ 2>/dev/null); do
    mac=${mac%/}
    [[ $mac =~ ^[0-9a-f]{2}(:[0-9a-f]{2}){5}$ ]] || continue
    if [ "$(imds "network/interfaces/macs/$mac/interface-id" 2>/dev/null)" = "$eni" ]; then
      printf '%s\n' "$mac"
      return 0
    fi
  done
  return 1
}

# Prints the MAC of the interface once the controller has attached it, or fails after ENI_WAIT_SECONDS.
await_eni() {
  local eni=$1 deadline=$((SECONDS + ENI_WAIT_SECONDS))
  until eni_mac "$eni"; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 1
  done
}

# Prints the name of the interface with the given MAC address once the OS has it with an address.
wait_for_interface() {
  local mac=${1,,} deadline=$((SECONDS + WAIT_SECONDS)) dev
  while [ "$SECONDS" -lt "$deadline" ]; do
    for dev in "$SYS_CLASS_NET"/*; do
      if [ -r "$dev/address" ] && [ "$(cat "$dev/address")" = "$mac" ]; then
        if ip -4 -o addr show dev "${dev##*/}" | grep -q ' inet '; then
          printf '%s\n' "${dev##*/}"
          return 0
        fi
      fi
    done
    sleep 1
  done
  return 1
}

# The VPC router is the first host address of the interface's subnet (d | 1: always an octet).
subnet_router() {
  local cidr a b c d
  cidr=$(retry imds "network/interfaces/macs/$1/subnet-ipv4-cidr-block") || die "cannot read the subnet of $1 from instance metadata"
  check_value "instance metadata subnet-ipv4-cidr-block of $1" "$cidr" subnet
  IFS=./ read -r a b c d _ <<<"$cidr"
  printf '%s.%s.%s.%s\n' "$a" "$b" "$c" $((d | 1))
}

# The interface of the default route with the lowest metric: the one the kernel uses.
default_route_dev() {
  ip -4 route show default | awk '
    { metric = 0; dev = ""
      for (i = 1; i < NF; i++) { if ($i == "dev") dev = $(i + 1); if ($i == "metric") metric = $(i + 1) }
      if (dev != "" && (best == "" || metric + 0 < best_metric)) { best = dev; best_metric = metric + 0 } }
    END { print best }'
}

# Egress through the static interface (and its Elastic IP). systemd-networkd owns the routes of an
# EC2 interface and drops foreign ones when it reloads, so the metric is set where networkd reads
# it (a drop-in that sorts after amazon-ec2-net-utils' one); the direct route bridges until then.
route_through() {
  local dev=$1 router=$2 deadline=$((SECONDS + WAIT_SECONDS))
  if has networkctl; then
    mkdir -p "$NETWORKD_DIR/70-$dev.network.d"
    printf '[DHCPv4]\nRouteMetric=%s\n' "$ROUTE_METRIC" >"$NETWORKD_DIR/70-$dev.network.d/zz-nat-instance.conf"
    networkctl reload || log "networkctl reload failed; relying on the direct route"
  fi
  until [ "$(default_route_dev)" = "$dev" ]; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    ip route replace default via "$router" dev "$dev" metric "$ROUTE_METRIC" || true
    sleep 1
  done
}

# Waits for the static interface and sends the default route through it; prints the device.
egress_through() {
  local eni=$1 mac dev router
  mac=$(await_eni "$eni") || die "$eni is not attached to this instance after ${ENI_WAIT_SECONDS}s (the controller attaches it at launch)"
  dev=$(wait_for_interface "$mac") || die "no interface with MAC $mac and an IPv4 address after ${WAIT_SECONDS}s"
  router=$(subnet_router "$mac") || exit 1
  route_through "$dev" "$router" || die "the default route does not go through $dev after ${WAIT_SECONDS}s"
  printf '%s\n' "$dev"
}

# The waits and retries above come from the environment (the environment file, where tampered
# with, included): whole numbers only, checked before any arithmetic reads them.
check_knobs() {
  local knob
  for knob in RETRY_ATTEMPTS RETRY_BASE_SECONDS WAIT_SECONDS ENI_WAIT_SECONDS; do
    [[ ${!knob} =~ ^[0-9]{1,5}$ ]] || die "NAT_$knob: got $(shown "${!knob}"); expected a whole number from 0 to 99999"
  done
}
check_knobs
