#!/usr/bin/env bash
# nat-bootstrap.sh: make an EC2 instance the NAT of its availability zone.
#
#   nat-bootstrap.sh setup --eni-id ENI --vpc-cidr CIDR [--vpc-cidr CIDR ...]
#                          --stack-name NAME --resource LOGICAL_ID CONTRACT
#       CONTRACT: --metric-namespace NS --metric-dimension NAME --heartbeat-metric NAME
#                 [--conntrack-metric NAME --allowance-metric NAME] --check-period SECONDS
#                 --check-accuracy SECONDS (the construct writes them from assets/contract.ts; the
#                 load metrics only with detailed monitoring)
#       First boot (run by load.sh): install nft if the image lacks it, persist forwarding,
#       install a systemd unit that runs `start` at every boot, run `start`, and signal the
#       result to CloudFormation.
#   nat-bootstrap.sh start
#       Every boot (run by nat-instance.service, settings from its environment file): wait for
#       the static network interface, which the controller attaches (this instance may not move
#       it), send the default route through it, run configure-nat.sh.
#   nat-bootstrap.sh check
#       Every period (nat-instance-check.timer): if this instance holds the interface, verify the
#       route and the NAT, repair them and publish the heartbeat; if it does not (the controller
#       gave the interface to a replacement), stand by.
#   nat-bootstrap.sh handoff-ready INSTANCE_ID FLOWS
#       The connection-state handoff's ready hook, run by conntrack-handoff.sh serve on the NAT
#       that holds the interface: publishes HandoffReady (the replacement has taken FLOWS flows),
#       which the controller waits for before it moves the interface with the routes in place.
#
# With the handoff settings (--handoff-address, --handoff-port, --handoff-metric and
# --handoff-dimension, written by the construct from assets/contract.ts), setup first
# takes the old NAT's connection state while this instance has no interface yet (needs
# conntrack-tools, installed through the public subnets' S3 gateway endpoint), removes the
# handoff's table once the NAT's rules are in, and installs the socket unit by which this NAT
# will serve its own state to its replacement. Any failure of the taking is logged, not fatal:
# the controller then replaces as without the handoff.
#
# Any failure is reported, never swallowed: a FAILURE signal to CloudFormation (so that a
# deployment fails) and the instance marked unhealthy (so that Auto Scaling replaces it).
#
# Nothing unchecked is used: every setting is checked against its form in every mode, before
# anything is written or called, and every instance metadata answer before it is used.
set -euo pipefail

readonly PROG=${0##*/}
# Overridable so that tests can run this script against fakes.
ETC_DIR=${NAT_ETC_DIR:-/etc}
INSTALL_DIR=${NAT_INSTALL_DIR:-/opt/nat-instance}
SYSCTL_ROOT=${NAT_SYSCTL_ROOT:-/proc/sys}
STATE_DIR=${NAT_STATE_DIR:-/var/lib/nat-instance}
MEMINFO=${NAT_MEMINFO:-/proc/meminfo}
SWAPFILE=${NAT_SWAPFILE:-/var/tmp/nat-instance.swap}
# Shared with load.sh: logging, retries, instance metadata, the static interface and its route.
# shellcheck source=/dev/null
. "$INSTALL_DIR/nat-lib.sh"
readonly ENV_FILE=$ETC_DIR/nat-instance/nat-instance.env
readonly UNIT_DIR=$ETC_DIR/systemd/system
readonly SYSCTL_FILE=$ETC_DIR/sysctl.d/90-nat-instance.conf

MODE=""
# Each setting: its variable (with NAT_ before it, the environment file's name for it, which start
# and check read), its option for setup, its form, and whether it is needed always, only for
# setup, or optional. Every value is checked against its form in every mode: in setup, although
# the construct checked it; in start and check, since the file may have been tampered with.
readonly SETTINGS=(
  'ENI_ID eni-id eni always'
  'VPC_CIDRS vpc-cidr vpc-cidr always'
  'STACK_NAME stack-name stack setup'
  'RESOURCE resource resource setup'
  'METRIC_NAMESPACE metric-namespace namespace always'
  'METRIC_DIMENSION metric-dimension metric always'
  'HEARTBEAT_METRIC heartbeat-metric metric always'
  'CONNTRACK_METRIC conntrack-metric metric optional'
  'ALLOWANCE_METRIC allowance-metric metric optional'
  'CHECK_PERIOD check-period period always'
  'CHECK_ACCURACY check-accuracy accuracy always'
  'HANDOFF_ADDRESS handoff-address address optional'
  'HANDOFF_PORT handoff-port port optional'
  'HANDOFF_METRIC handoff-metric metric optional'
  'HANDOFF_DIMENSION handoff-dimension metric optional'
)
FORM+=(
  [vpc-cidr]="^($OCTET\.){3}$OCTET/([89]|[12][0-9]|3[0-2])$ an IPv4 CIDR block from /8 to /32 such as 10.0.0.0/16 (octets 0-255 without leading zeros)"
  [namespace]='^[A-Za-z0-9._/#:-]{1,255}$ a CloudWatch namespace of letters, digits and ._/#:-'
  [metric]='^[A-Za-z][A-Za-z0-9]{0,63}$ a metric or dimension name of letters and digits'
  [period]='^[1-9][0-9]{1,3}$ whole seconds from 10 to 9999'
  [accuracy]='^[1-9][0-9]{0,2}$ whole seconds from 1 to 999'
  [address]="^($OCTET\.){3}$OCTET$ an IPv4 address such as 10.0.0.10 (octets 0-255 without leading zeros)"
  [port]='^([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$ a TCP port from 1 to 65535'
  [count]='^(0|[1-9][0-9]{0,6})$ a count from 0 to 9999999'
  [lifecycle]='^(Warmed:)?(Pending|Quarantined|InService|Terminating|Terminated|Detaching|Detached|EnteringStandby|Standby|Stopped|Running|Hibernated)(:Wait|:Proceed)?$ an Auto Scaling lifecycle state'
)
ENI_ID=""
VPC_CIDRS=()
STACK_NAME=""
RESOURCE=""
METRIC_NAMESPACE=""
METRIC_DIMENSION=""
HEARTBEAT_METRIC=""
CONNTRACK_METRIC=""
ALLOWANCE_METRIC=""
CHECK_PERIOD=""
CHECK_ACCURACY=""
HANDOFF_ADDRESS=""
HANDOFF_PORT=""
HANDOFF_METRIC=""
HANDOFF_DIMENSION=""
# Whether setup took a predecessor's connection state, whose table finish must then remove.
TOOK_STATE=false
# The flows taken so far, so that each later pass creates only the new ones.
KNOWN_FLOWS=$STATE_DIR/handoff-known
# How often a replacement pulls again until the interface arrives (overridable for tests).
HANDOFF_FOLLOW_SECONDS=${NAT_HANDOFF_FOLLOW_SECONDS:-2}
[[ $HANDOFF_FOLLOW_SECONDS =~ ^[1-9][0-9]?$ ]] ||
  die "NAT_HANDOFF_FOLLOW_SECONDS: got $(shown "$HANDOFF_FOLLOW_SECONDS"); expected whole seconds from 1 to 99"
READY_INSTANCE=""
READY_FLOWS=""
INSTANCE_ID=""
REGION=""
NAT_DEV=""

usage() {
  cat <<EOF
Usage: $PROG setup --eni-id ENI --vpc-cidr CIDR [--vpc-cidr CIDR ...] --stack-name NAME --resource LOGICAL_ID
                   --metric-namespace NS --metric-dimension NAME --heartbeat-metric NAME [--conntrack-metric NAME
                   --allowance-metric NAME] --check-period SECONDS --check-accuracy SECONDS
                   [--handoff-address ADDRESS --handoff-port PORT --handoff-metric NAME --handoff-dimension NAME]
       $PROG start|check   (the same settings from NAT_* variables, as the systemd units set them)
       $PROG handoff-ready INSTANCE_ID FLOWS   (the same settings, for the handoff's ready hook)
EOF
}

# setup: the settings from the options.
from_options() {
  local entry option found
  while [ $# -gt 0 ]; do
    found=""
    for entry in "${SETTINGS[@]}"; do
      option=${entry#* }
      [ "--${option%% *}" != "$1" ] || found=${entry%% *}
    done
    [ -n "$found" ] || { usage >&2; die "unknown argument $(shown "$1")"; }
    [ $# -ge 2 ] || die "$1 needs a value"
    if [ "$found" = VPC_CIDRS ]; then VPC_CIDRS+=("$2"); else printf -v "$found" '%s' "$2"; fi
    shift 2
  done
}

# start and check: the settings from the environment file's variables. The CIDR blocks are split
# at spaces only, so that any other character stays in a block and fails its check.
from_environment() {
  local entry var name
  for entry in "${SETTINGS[@]}"; do
    var=${entry%% *}
    name=NAT_$var
    if [ "$var" = VPC_CIDRS ]; then
      IFS=' ' read -r -d '' -a VPC_CIDRS < <(printf '%s' "${!name:-}") || true
    else
      printf -v "$var" '%s' "${!name:-}"
    fi
  done
}

# Sets variable $1 to how a setting is named to whoever gave it: the option ($2) in setup, the
# variable ($3) otherwise.
setting_name() {
  if [ "$MODE" = setup ]; then printf -v "$1" -- '--%s' "$2"; else printf -v "$1" 'NAT_%s' "$3"; fi
}

# Checks one setting (a line of SETTINGS): present if needed, each value of its form.
check_setting() {
  local var=$1 option=$2 kind=$3 need=$4 name value
  local -n values=$var
  setting_name name "$option" "$var"
  if [ -z "${values[*]}" ]; then
    case "$need:$MODE" in always:* | setup:setup) die "$name is required" ;; esac
    return 0
  fi
  for value in "${values[@]}"; do
    check_value "$name" "$value" "$kind"
  done
}

# A CIDR block is a network address: no host bits set (its form is checked first).
check_network() {
  local a b c d prefix host_bits
  IFS=./ read -r a b c d prefix <<<"$2"
  host_bits=$(((1 << (32 - prefix)) - 1))
  (( ((a << 24 | b << 16 | c << 8 | d) & host_bits) == 0 )) ||
    die "$1: got $(shown "$2"); expected a network address, with no host bits set"
}

# Every setting, in every mode, before anything is written or called.
check_settings() {
  local entry cidr name conntrack allowance
  for entry in "${SETTINGS[@]}"; do
    # shellcheck disable=SC2086 # the table's fields hold no spaces
    check_setting $entry
  done
  setting_name name vpc-cidr VPC_CIDRS
  for cidr in "${VPC_CIDRS[@]}"; do
    check_network "$name" "$cidr"
  done
  if [ -n "$CONNTRACK_METRIC$ALLOWANCE_METRIC" ] && { [ -z "$CONNTRACK_METRIC" ] || [ -z "$ALLOWANCE_METRIC" ]; }; then
    setting_name conntrack conntrack-metric CONNTRACK_METRIC
    setting_name allowance allowance-metric ALLOWANCE_METRIC
    die "$conntrack and $allowance go together (detailed monitoring): give both or neither"
  fi
  if [ -n "$HANDOFF_ADDRESS$HANDOFF_PORT$HANDOFF_METRIC$HANDOFF_DIMENSION" ] &&
    { [ -z "$HANDOFF_ADDRESS" ] || [ -z "$HANDOFF_PORT" ] || [ -z "$HANDOFF_METRIC" ] || [ -z "$HANDOFF_DIMENSION" ]; }; then
    local address port metric dimension
    setting_name address handoff-address HANDOFF_ADDRESS
    setting_name port handoff-port HANDOFF_PORT
    setting_name metric handoff-metric HANDOFF_METRIC
    setting_name dimension handoff-dimension HANDOFF_DIMENSION
    die "$address, $port, $metric and $dimension go together (the connection-state handoff): give all four or none"
  fi
  if [ "$MODE" = handoff-ready ] && [ -z "$HANDOFF_METRIC" ]; then
    die "handoff-ready: this NAT has no handoff settings (NAT_HANDOFF_METRIC is empty)"
  fi
}

handoff_on() { [ -n "$HANDOFF_METRIC" ]; }

parse_args() {
  [ $# -gt 0 ] || { usage >&2; die "a mode is required: setup, start, check or handoff-ready"; }
  MODE=$1
  shift
  case "$MODE" in
    setup) from_options "$@" ;;
    start | check)
      [ $# -eq 0 ] || die "$MODE takes no arguments: its settings are the NAT_* variables of $ENV_FILE"
      from_environment ;;
    handoff-ready)
      [ $# -eq 2 ] || die "handoff-ready takes INSTANCE_ID FLOWS; got $# arguments"
      check_value "handoff-ready INSTANCE_ID" "$1" instance
      check_value "handoff-ready FLOWS" "$2" count
      READY_INSTANCE=$1
      READY_FLOWS=$2
      from_environment ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown mode $(shown "$MODE"); expected setup, start, check or handoff-ready" ;;
  esac
  check_settings
}

# One value of instance metadata, of the given form.
imds_value() {
  local value
  value=$(retry imds "$1") || die "cannot read $1 from instance metadata"
  check_value "instance metadata $1" "$value" "$2"
  printf '%s\n' "$value"
}

load_identity() {
  retry imds_token || die "cannot get an IMDSv2 token from $IMDS"
  INSTANCE_ID=$(imds_value instance-id instance) || exit 1
  REGION=$(imds_value placement/region region) || exit 1
}

nat_args() {
  local cidr
  for cidr in "${VPC_CIDRS[@]}"; do printf -- '--vpc-cidr\n%s\n' "$cidr"; done
}

# With more than one address on the interface (publicIpsPerNat), each new flow leaves with the
# next, so that one destination can take more connections than one address's ports: the
# addresses from instance metadata, each checked, once the OS has them all on DEV.
source_args() {
  local dev=$1 mac listed address waited
  local -a addresses=()
  mac=$(cat "$SYS_CLASS_NET/$dev/address" 2>/dev/null) || die "cannot read the MAC address of $dev"
  [[ $mac =~ ^[0-9a-f]{2}(:[0-9a-f]{2}){5}$ ]] || die "$SYS_CLASS_NET/$dev/address: got $(shown "$mac"); expected a MAC address"
  listed=$(retry imds "network/interfaces/macs/$mac/local-ipv4s") || die "cannot read the addresses of $ENI_ID from instance metadata"
  mapfile -t addresses <<<"$listed"
  [ "${#addresses[@]}" -gt 1 ] || return 0
  [ "${#addresses[@]}" -le 8 ] || die "instance metadata local-ipv4s of $ENI_ID: got ${#addresses[@]} addresses; expected at most 8"
  for address in "${addresses[@]}"; do
    check_value "instance metadata local-ipv4s of $ENI_ID" "$address" address
    # amazon-ec2-net-utils adds the secondary addresses a moment after the interface.
    for ((waited = 0; ; waited++)); do
      ip -4 -o addr show dev "$dev" | grep -qF " inet $address/" && break
      [ "$waited" -lt "$WAIT_SECONDS" ] || die "$address of $ENI_ID is not on $dev after ${WAIT_SECONDS}s"
      sleep 1
    done
    printf -- '--source-address\n%s\n' "$address"
  done
}

# configure-nat.sh's arguments for DEV, into the array named $1: read in this shell, since a
# failure inside a process substitution would go unnoticed.
configure_args() {
  local -n into=$1
  local sources
  sources=$(source_args "$2") || exit 1
  mapfile -t into < <(nat_args)
  if [ -n "$sources" ]; then mapfile -t -O "${#into[@]}" into <<<"$sources"; fi
}

start_nat() {
  local dev args
  dev=$(egress_through "$ENI_ID") || exit 1
  NAT_DEV=$dev
  configure_args args "$dev"
  "$INSTALL_DIR/configure-nat.sh" "${args[@]}" --egress-interface "$dev" ||
    die "configure-nat.sh failed on $dev"
}

check_nat() {
  local mac dev args
  if ! mac=$(eni_mac "$ENI_ID"); then
    # The controller gave the interface to a replacement, or has not attached it yet.
    log "standing by: $ENI_ID is not attached to $INSTANCE_ID"
    return 0
  fi
  if dev=$(wait_for_interface "$mac"); then
    NAT_DEV=$dev
    configure_args args "$dev"
    if [ "$(default_route_dev)" = "$dev" ] && "$INSTALL_DIR/configure-nat.sh" "${args[@]}" --egress-interface "$dev" --check >/dev/null; then
      heartbeat
      return 0
    fi
    log "NAT through $dev is not intact; repairing"
    if (start_nat); then
      heartbeat
      return 0
    fi
  fi
  # The controller may have moved the interface away during this check: then this instance
  # stands by, rather than report itself broken and have its group replace it.
  if ! eni_mac "$ENI_ID" >/dev/null; then
    log "standing by: $ENI_ID moved away from $INSTANCE_ID during the check"
    return 0
  fi
  die "NAT through $ENI_ID cannot be verified or repaired"
}

mem_total_kib() { awk '/^MemTotal:/ {print $2}' "$MEMINFO"; }

# dnf has been OOM-killed on 512 MiB instances: give it swap while it runs.
with_swap() {
  local added=false status=0
  if [ "$(mem_total_kib)" -lt 1048576 ] && [ ! -e "$SWAPFILE" ]; then
    if fallocate -l 1G "$SWAPFILE" && chmod 600 "$SWAPFILE" && mkswap "$SWAPFILE" >/dev/null && swapon "$SWAPFILE"; then
      added=true
    else
      log "could not add swap; trying without it"
      rm -f "$SWAPFILE"
    fi
  fi
  "$@" || status=$?
  if [ "$added" = true ]; then
    swapoff "$SWAPFILE" || log "could not turn off $SWAPFILE"
    rm -f "$SWAPFILE"
  fi
  return "$status"
}

# What the image lacks: a firewall tool (the handoff's import needs nft itself), and with the
# handoff conntrack-tools.
needed_packages() {
  if ! has nft && { handoff_on || ! has iptables; }; then echo nftables; fi
  if handoff_on && ! has conntrack; then echo conntrack-tools; fi
}

install_packages() {
  local packages
  mapfile -t packages < <(needed_packages)
  [ "${#packages[@]}" -gt 0 ] || return 0
  log "installing ${packages[*]}"
  retry with_swap dnf install -y --setopt=install_weak_deps=False "${packages[@]}" >&2 ||
    die "cannot install ${packages[*]} with dnf"
  has nft || has iptables || die "nftables is installed but nft is not on PATH"
}

# Before the interface arrives: the predecessor, which holds the interface's address, serves its
# connection state; taking it lets its flows go on through the move. With no predecessor (a
# group's first instance) or on any failure, this instance starts as without the handoff.
take_state() {
  local file=$STATE_DIR/handoff-flows flows
  # One try, not the usual retries: the packages come through the S3 gateway endpoint or not at
  # all until the interface arrives, and the controller waits for this only so long.
  if ! (RETRY_ATTEMPTS=1 install_packages); then
    log "no handoff: cannot install $(needed_packages | tr '
' ' ')before the interface arrives"
    return 0
  fi
  mkdir -p "$STATE_DIR"
  if ! "$INSTALL_DIR/conntrack-handoff.sh" pull --from "$HANDOFF_ADDRESS" --port "$HANDOFF_PORT" --out "$file"; then
    log "no handoff: no connection state from $HANDOFF_ADDRESS:$HANDOFF_PORT (no predecessor, or it did not answer)"
    return 0
  fi
  flows=$(grep -c '' "$file" || true)
  # From here the handoff's table may be loaded: finish must run once the NAT's rules are in.
  TOOK_STATE=true
  rm -f "$KNOWN_FLOWS"
  if ! "$INSTALL_DIR/conntrack-handoff.sh" import --nat-address "$HANDOFF_ADDRESS" --in "$file" --known "$KNOWN_FLOWS" >&2; then
    log "no handoff: the import of $flows flows failed"
    return 0
  fi
  if ! "$INSTALL_DIR/conntrack-handoff.sh" ready --from "$HANDOFF_ADDRESS" --port "$HANDOFF_PORT" --instance-id "$INSTANCE_ID" --flows "$flows"; then
    log "took $flows flows, but $HANDOFF_ADDRESS:$HANDOFF_PORT did not acknowledge ready; the controller will replace as without the handoff"
    return 0
  fi
  follow_state
}

# Until the interface arrives, pull again every HANDOFF_FOLLOW_SECONDS and create the flows
# opened since: the old NAT loses its masqueraded entries the moment the interface leaves it (the
# kernel flushes them with the device), so a flow not here by then is not carried over. Bounded
# by the wait for the interface itself.
follow_state() {
  local pass=$STATE_DIR/handoff-pass deadline=$((SECONDS + ENI_WAIT_SECONDS)) passes=0
  until eni_mac "$ENI_ID" >/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || return 0
    sleep "$HANDOFF_FOLLOW_SECONDS"
    if "$INSTALL_DIR/conntrack-handoff.sh" pull --from "$HANDOFF_ADDRESS" --port "$HANDOFF_PORT" --seconds 5 --out "$pass" &&
      "$INSTALL_DIR/conntrack-handoff.sh" import --nat-address "$HANDOFF_ADDRESS" --in "$pass" --known "$KNOWN_FLOWS" >&2; then
      passes=$((passes + 1))
    fi
  done
  log "followed the predecessor's flows in $passes more passes until the interface arrived"
}

# The hook conntrack-handoff.sh serve runs: tells the controller the replacement has the state.
publish_ready() {
  aws --region "$REGION" cloudwatch put-metric-data --namespace "$METRIC_NAMESPACE" --metric-name "$HANDOFF_METRIC" \
    --dimensions "$METRIC_DIMENSION=$ENI_ID,$HANDOFF_DIMENSION=$READY_INSTANCE" --value "$READY_FLOWS" --unit Count ||
    die "could not publish $HANDOFF_METRIC for $READY_INSTANCE"
  log "told the controller: $READY_INSTANCE took $READY_FLOWS flows"
}

# One line of the environment file: NAT_VAR="value", in systemd's EnvironmentFile syntax. Every
# value was checked; still, one that could end its quotes or its line is refused here.
env_line() {
  local LC_ALL=C
  local -n values=$1
  local value="${values[*]}"
  [[ $value != *[!\ -~]* && $value != *[\"\'\\\$\`]* ]] ||
    die "refusing to write NAT_$1 to $ENV_FILE: got $(shown "$value"), which could end its quotes or its line"
  printf 'NAT_%s="%s"\n' "$1" "$value"
}

# The settings for start and check, all or nothing.
write_env_file() {
  local entry text=""
  for entry in "${SETTINGS[@]}"; do
    text+=$(env_line "${entry%% *}") || exit 1
    text+=$'\n'
  done
  mkdir -p "${ENV_FILE%/*}"
  printf '%s' "$text" >"$ENV_FILE"
}

write_files() {
  write_env_file
  mkdir -p "${SYSCTL_FILE%/*}" "$UNIT_DIR"
  cat >"$SYSCTL_FILE" <<'EOF'
# Written by nat-bootstrap.sh: this host forwards for its VPC.
net.ipv4.ip_forward = 1
net.ipv4.conf.all.send_redirects = 0
EOF
  cat >"$UNIT_DIR/nat-instance.service" <<EOF
[Unit]
Description=NAT instance: static interface, default route and masquerading
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
RemainAfterExit=yes
EnvironmentFile=$ENV_FILE
ExecStart=$INSTALL_DIR/$PROG start

[Install]
WantedBy=multi-user.target
EOF
  cat >"$UNIT_DIR/nat-instance-check.service" <<EOF
[Unit]
Description=NAT instance: verify and repair the route and NAT
After=nat-instance.service

[Service]
Type=oneshot
EnvironmentFile=$ENV_FILE
ExecStart=$INSTALL_DIR/$PROG check
EOF
  cat >"$UNIT_DIR/nat-instance-check.timer" <<EOF
[Unit]
Description=NAT instance: check every ${CHECK_PERIOD}s

[Timer]
OnBootSec=2min
OnUnitActiveSec=${CHECK_PERIOD}s
# systemd's default of one minute would let the check fire up to a minute late each time.
AccuracySec=${CHECK_ACCURACY}s

[Install]
WantedBy=timers.target
EOF
  if handoff_on; then write_handoff_units; fi
  systemctl daemon-reload
  systemctl enable nat-instance.service nat-instance-check.timer
  if handoff_on; then systemctl enable --now nat-handoff.socket; fi
}

# This NAT serves its connection state to its replacement: one conntrack-handoff.sh serve per
# connection (Accept=yes), the socket for stdin and stdout. The NATs' security group admits the
# port from the group itself only.
write_handoff_units() {
  local mac subnet
  mac=$(eni_mac "$ENI_ID") || die "$ENI_ID is not attached to this instance"
  subnet=$(imds_value "network/interfaces/macs/$mac/subnet-ipv4-cidr-block" subnet) || exit 1
  printf '#!/usr/bin/env bash\nexec %s/%s handoff-ready "$@"\n' "$INSTALL_DIR" "$PROG" >"$INSTALL_DIR/handoff-ready"
  chmod 0755 "$INSTALL_DIR/handoff-ready"
  cat >"$UNIT_DIR/nat-handoff.socket" <<EOF
[Unit]
Description=NAT instance: this NAT's connection state, for its replacement

[Socket]
ListenStream=$HANDOFF_PORT
Accept=yes
MaxConnections=4
# The NAT's own subnet only, where its replacement boots (the security group admits the VPC).
IPAddressAllow=$subnet
IPAddressDeny=any

[Install]
WantedBy=sockets.target
EOF
  cat >"$UNIT_DIR/nat-handoff@.service" <<EOF
[Unit]
Description=NAT instance: serve one connection-state request

[Service]
EnvironmentFile=$ENV_FILE
ExecStart=$INSTALL_DIR/conntrack-handoff.sh serve --nat-address $HANDOFF_ADDRESS --ready-hook $INSTALL_DIR/handoff-ready
StandardInput=socket
StandardOutput=socket
StandardError=journal
RuntimeMaxSec=120
EOF
}

# The heartbeat the route watchdog reads: published only after the NAT verified itself.
heartbeat() {
  local state
  # An instance Auto Scaling is taking out of service must not look healthy to the watchdog.
  state=$(imds autoscaling/target-lifecycle-state 2>/dev/null) || state=InService
  # An answer of another form is no answer one can trust: no heartbeat, so that the controller
  # judges this NAT by what it can see rather than by a word it cannot read.
  if ! valid lifecycle "$state"; then
    log "no heartbeat: instance metadata autoscaling/target-lifecycle-state: got $(shown "$state"); expected ${FORM[lifecycle]#* }"
    return 0
  fi
  if [ "$state" != InService ]; then
    log "no heartbeat: this instance is leaving service ($state)"
    return 0
  fi
  aws --region "$REGION" cloudwatch put-metric-data --namespace "$METRIC_NAMESPACE" --metric-name "$HEARTBEAT_METRIC" \
    --dimensions "$METRIC_DIMENSION=$ENI_ID" --value 1 --unit Count ||
    log "could not publish the heartbeat; the route watchdog will treat this NAT as unhealthy"
  # The load metrics cost a metric each: published only with detailed monitoring.
  if [ -n "$CONNTRACK_METRIC" ]; then publish_load; fi
}

# The sum of the ENA driver's allowance-exceeded counters (packets dropped or queued because the
# instance's bandwidth, packet-rate, connection-tracking or link-local allowance was exceeded).
allowance_exceeded() {
  ethtool -S "$NAT_DEV" 2>/dev/null | awk -F: '/_allowance_exceeded/ {sum += $2} END {print sum + 0}'
}

# Load figures the alarms watch: connection-tracking table use, and allowance drops this minute.
publish_load() {
  local count max usage total previous=0 delta dims
  count=$(cat "$SYSCTL_ROOT/net/netfilter/nf_conntrack_count" 2>/dev/null || echo 0)
  max=$(cat "$SYSCTL_ROOT/net/netfilter/nf_conntrack_max" 2>/dev/null || echo 0)
  [[ $count =~ ^[0-9]+$ ]] || count=0
  [[ $max =~ ^[0-9]+$ ]] || max=0
  usage=0
  if [ "$max" -gt 0 ]; then usage=$((count * 100 / max)); fi
  total=0
  if [ -n "$NAT_DEV" ] && has ethtool; then total=$(allowance_exceeded); fi
  [[ $total =~ ^[0-9]+$ ]] || total=0
  mkdir -p "$STATE_DIR"
  if [ -r "$STATE_DIR/allowance-exceeded" ]; then previous=$(cat "$STATE_DIR/allowance-exceeded"); fi
  [[ $previous =~ ^[0-9]+$ ]] || previous=0
  delta=$((total >= previous ? total - previous : total))
  printf '%s\n' "$total" >"$STATE_DIR/allowance-exceeded"
  dims="[{\"Name\":\"$METRIC_DIMENSION\",\"Value\":\"$ENI_ID\"}]"
  aws --region "$REGION" cloudwatch put-metric-data --namespace "$METRIC_NAMESPACE" --metric-data \
    "[{\"MetricName\":\"$CONNTRACK_METRIC\",\"Dimensions\":$dims,\"Value\":$usage,\"Unit\":\"Percent\"},{\"MetricName\":\"$ALLOWANCE_METRIC\",\"Dimensions\":$dims,\"Value\":$delta,\"Unit\":\"Count\"}]" ||
    log "could not publish the load metrics"
}

# A failure is this instance's to report; success is the controller's, once it has seen this NAT
# carry traffic. Outside a deployment CloudFormation refuses signals: logged, not fatal.
signal_failure() {
  aws --region "$REGION" cloudformation signal-resource --stack-name "$STACK_NAME" \
    --logical-resource-id "$RESOURCE" --unique-id "$INSTANCE_ID" --status FAILURE ||
    log "could not signal FAILURE to $STACK_NAME/$RESOURCE (expected outside a deployment)"
}

# On any failure: fail the deployment and have Auto Scaling replace this instance.
report_failure() {
  local status=$?
  [ "$status" -ne 0 ] || return 0
  log "failed (exit $status); reporting this instance as broken"
  if [ -n "$REGION" ] && [ -n "$INSTANCE_ID" ]; then
    [ "$MODE" != setup ] || signal_failure
    aws --region "$REGION" autoscaling set-instance-health --instance-id "$INSTANCE_ID" \
      --health-status Unhealthy --no-should-respect-grace-period ||
      log "could not mark $INSTANCE_ID unhealthy"
  fi
  exit "$status"
}

main() {
  parse_args "$@"
  if [ "$MODE" = handoff-ready ]; then
    # A failure here is the handoff's, told to the replacement; this NAT goes on serving.
    load_identity
    publish_ready
    return 0
  fi
  trap report_failure EXIT
  load_identity
  if [ "$MODE" = setup ]; then
    if handoff_on; then
      take_state
      # As without the handoff, what follows runs with the interface's egress.
      egress_through "$ENI_ID" >/dev/null || exit 1
    fi
    install_packages
    write_files
    # Access is through Session Manager; with no key pair sshd only adds a listening port.
    systemctl disable --now sshd.service 2>/dev/null || log "sshd is not running"
  fi
  if [ "$MODE" = check ]; then
    check_nat
    return 0
  fi
  # Only the controller gives the interface out, one instance at a time: at a later boot an
  # instance that no longer holds it (its replacement does) stands by rather than fail.
  if [ "$MODE" = start ] && ! await_eni "$ENI_ID" >/dev/null; then
    log "standing by: $ENI_ID is not attached to $INSTANCE_ID"
    return 0
  fi
  start_nat
  if [ "$TOOK_STATE" = true ]; then
    "$INSTALL_DIR/conntrack-handoff.sh" finish || die "conntrack-handoff.sh finish failed after configure-nat.sh"
  fi
  heartbeat
  if [ "$MODE" = setup ]; then
    systemctl start nat-instance-check.timer
  fi
  log "NAT ready on $INSTANCE_ID through $ENI_ID"
}

main "$@"
