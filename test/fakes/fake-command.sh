#!/usr/bin/env bash
# One fake for every command nat-bootstrap.sh and load.sh run, dispatched on the name it is called by.
# Each call is appended to $FAKE_LOG; state lives in $FAKE_STATE (a directory).
set -euo pipefail

name=${0##*/}
printf '%s %s\n' "$name" "$*" >>"$FAKE_LOG"
state=$FAKE_STATE
self=i-05e1f0000000000a
mac=0a:00:00:00:00:06

# Fails while the counter file for $1 is above zero, counting it down.
failing() {
  local file=$state/fail-$1 n
  [ -f "$file" ] || return 1
  n=$(cat "$file")
  [ "$n" -gt 0 ] || return 1
  echo $((n - 1)) >"$file"
}

# True once $1's counter of successes has run out: the first N calls succeed, later ones fail.
spent() {
  local file=$state/$1 n
  [ -f "$file" ] || return 1
  n=$(cat "$file")
  if [ "$n" -gt 0 ]; then
    echo $((n - 1)) >"$file"
    return 1
  fi
}

case "$name" in
  curl)
    url=${*: -1}
    # A test may replace any metadata answer: $FAKE_STATE/imds/PATH, with each / of PATH as _.
    answer=$state/imds/$(printf '%s' "${url#*/meta-data/}" | tr / _)
    if [[ $url == */meta-data/* ]] && [ -f "$answer" ]; then
      cat "$answer"
      exit 0
    fi
    case "$url" in
      */latest/api/token) echo token-123 ;;
      */meta-data/instance-id) echo "$self" ;;
      */meta-data/placement/region) echo eu-west-1 ;;
      */meta-data/network/interfaces/macs/$mac/subnet-ipv4-cidr-block) echo 10.0.0.0/24 ;;
      */meta-data/network/interfaces/macs/$mac/local-ipv4s) echo 10.0.0.9 ;;
      */meta-data/autoscaling/target-lifecycle-state)
        if [ -f "$state/lifecycle" ]; then cat "$state/lifecycle"; else echo InService; fi ;;
      */meta-data/network/interfaces/macs/)
        echo 0a:00:00:00:00:05/
        # Attached by the controller; until then (a count of polls), not listed.
        # Or given away after a number of polls (eni-gone-after).
        if grep -q "^in-use $self " "$state/eni" && ! failing imds-eni && ! spent eni-gone-after; then echo "$mac/"; fi ;;
      */meta-data/network/interfaces/macs/0a:00:00:00:00:05/interface-id) echo eni-0primary000000000 ;;
      */meta-data/network/interfaces/macs/$mac/interface-id) echo eni-0123456789abcdef0 ;;
      *) echo "fake curl: no metadata at $url" >&2; exit 22 ;;
    esac
    ;;
  aws)
    case "$*" in
      *"ec2 describe-network-interfaces"*) cat "$state/eni" ;;
      *"ec2 detach-network-interface"*)
        printf 'available None None %s False\n' "$mac" >"$state/eni" ;;
      *"ec2 attach-network-interface"*)
        if failing attach; then echo "An error occurred (RequestLimitExceeded)" >&2; exit 254; fi
        printf 'in-use %s eni-attach-new %s False\n' "$self" "$mac" >"$state/eni"
        echo '{"AttachmentId": "eni-attach-new"}' ;;
      *"ec2 modify-network-interface-attribute"*) ;;
      *"cloudformation signal-resource"*) ;;
      *"autoscaling set-instance-health"*) ;;
      *"cloudwatch put-metric-data"*) ;;
      *"s3 cp --only-show-errors s3://"*)
        # The asset bucket is a directory of the state: s3://BUCKET/KEY is $FAKE_STATE/s3/BUCKET/KEY.
        source=${*: -2:1} target=${*: -1}
        object=$state/s3/${source#s3://}
        # Without an S3 gateway endpoint, the bucket is out of reach until egress goes through the interface.
        if [ -f "$state/s3-needs-route" ] && ! grep -qs ' dev ens6 ' "$state/routes"; then
          echo "fatal error: Could not connect to the endpoint URL: \"https://s3.eu-west-1.amazonaws.com/\"" >&2; exit 1
        fi
        if [ ! -f "$object" ]; then echo "fatal error: An error occurred (404) when calling the HeadObject operation: Key \"${source#*/*/*/}\" does not exist" >&2; exit 1; fi
        cp "$object" "$target" ;;
      *) echo "fake aws: unexpected call: $*" >&2; exit 2 ;;
    esac
    ;;
  dnf)
    if failing dnf; then echo "fake dnf: Curl error (6): Could not resolve host" >&2; exit 1; fi
    for package in "$@"; do
      case "$package" in
        nftables) ln -sf "$0" "$(dirname "$0")/nft" ;;
        conntrack-tools) ln -sf "$0" "$(dirname "$0")/conntrack" ;;
      esac
    done ;;
  conntrack-handoff.sh)
    # pull writes $FAKE_STATE/handoff-flows (if the old NAT answers) to --out; the others succeed
    # unless failing handoff-COMMAND.
    if failing "handoff-$1"; then echo "conntrack-handoff.sh: error: fake $1 failure" >&2; exit 1; fi
    if [ "$1" = pull ]; then
      [ -f "$state/handoff-flows" ] || { echo "conntrack-handoff.sh: error: no answer from ${3}:${5} to 'state' within 20s" >&2; exit 1; }
      cp "$state/handoff-flows" "${*: -1}"
    fi ;;
  configure-nat.sh)
    case "$*" in
      *--check*) if failing check; then echo "configure-nat.sh: error: NAT is not in place" >&2; exit 1; fi ;;
      *) if failing configure; then echo "configure-nat.sh: error: NAT is not in place" >&2; exit 1; fi ;;
    esac ;;
  ip)
    routes=$state/routes
    [ -f "$routes" ] || echo "default via 10.0.0.1 dev ens5 proto dhcp src 10.0.0.5 metric 512" >"$routes"
    case "$*" in
      "-4 -o addr show dev ens6")
        for address in $(cat "$state/ens6-addresses" 2>/dev/null || echo 10.0.0.9); do
          echo "3: ens6    inet $address/24 brd 10.0.0.255 scope global dynamic ens6"
        done ;;
      "-4 -o addr show dev"*) ;;
      "-4 route show default") cat "$routes" ;;
      "route replace default via "*)
        # A route that networkd keeps removing: the replace is lost.
        if [ -f "$state/routes-ignored" ]; then exit 0; fi
        dev=$7 metric=$9
        grep -v " dev $dev " "$routes" >"$routes.new" || true
        echo "default via $5 dev $dev metric $metric" >>"$routes.new"
        mv "$routes.new" "$routes" ;;
      *) echo "fake ip: unexpected call: $*" >&2; exit 2 ;;
    esac
    ;;
  ethtool)
    printf 'NIC statistics:\n     rx_packets: 100\n     bw_in_allowance_exceeded: %s\n     bw_out_allowance_exceeded: 2\n     pps_allowance_exceeded: 0\n' \
      "$(cat "$state/bw-in" 2>/dev/null || echo 5)" ;;
  fallocate) touch "${*: -1}" ;;
  systemctl | sleep | mkswap | swapon | swapoff | nft | networkctl | conntrack) ;;
  *) echo "fake: no fake for $name" >&2; exit 127 ;;
esac
