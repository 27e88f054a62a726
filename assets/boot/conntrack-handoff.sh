#!/usr/bin/env bash
# conntrack-handoff.sh: carries a NAT's connection-tracking state, NAT mappings included, from
# the instance that holds its interface to the one that takes the interface over, so that
# established TCP and UDP flows continue through the move.
#
#   conntrack-handoff.sh export --nat-address A [--out FILE]
#   conntrack-handoff.sh import --nat-address A [--in FILE] [--known FILE]
#   conntrack-handoff.sh finish
#   conntrack-handoff.sh serve --nat-address A [--ready-hook PATH]
#   conntrack-handoff.sh pull --from ADDRESS --port PORT [--seconds S] [--out FILE]
#   conntrack-handoff.sh ready --from ADDRESS --port PORT [--seconds S] --instance-id ID --flows N
#
# serve answers one request read from stdin (a socket-activated service on the NAT that holds
# the interface, reached over the VPC by its replacement): `state` is answered with the export
# lines and a last line `end N`, N the count of lines before it; `ready ID N` (the replacement
# ID has taken N flows) runs PATH ID N, which tells the controller, and is answered `ok`. pull
# and ready are the replacement's side: pull refuses an answer that does not end with its count
# (a connection cut half-way), and each gives up after S seconds (PULL_SECONDS by default).
# The replacement pulls again until the interface reaches it, since the old NAT loses its
# masqueraded entries the moment the interface leaves it (the kernel flushes them when the
# device goes): `import --known FILE` creates only the flows FILE does not list, and adds them.
#
# export writes one line per flow this NAT masquerades (its reply goes to the NAT address A, and
# it did not start on the host itself), in states import takes; it counts those it skips:
#   PROTO SRC SPORT DST DPORT NATPORT TIMEOUT STATE
# STATE is the TCP state, or for UDP `replied` or `unreplied`.
# import checks every line, refuses the whole file if one is malformed, and creates each flow's
# entry with its mapping (conntrack -I ... --src-nat A:NATPORT). It runs before the interface
# arrives, and first makes the host ready to carry those flows, and only those, the moment it
# does: forwarding on, a NAT hook (without one, a reply to A would be delivered to the host
# itself and answered with a reset), and a forward chain that passes established flows only.
# finish removes that table once configure-nat.sh has put the NAT's own rules in.
# Without the handoff, the new instance knows none of the flows: replies from the internet are
# dropped until the private host sends, and a flow whose port the NAT had changed is reset
# (README, "Planned replacement").
set -euo pipefail

readonly PROG=${0##*/}
# How long an imported TCP entry lives before traffic refreshes it: the kernel's default for
# established TCP is 5 days, and a flow that is still alive refreshes it with its next packet.
readonly MAX_TIMEOUT=432000
readonly HANDOFF_TABLE=nat_instance_handoff
# How long the replacement waits for the old NAT's answer, and the old NAT for the request.
readonly PULL_SECONDS=20
SECONDS_ALLOWED=$PULL_SECONDS
readonly REQUEST_SECONDS=5
# Overridable so that tests can point the script at a fake /proc/sys.
SYSCTL_ROOT=${NAT_SYSCTL_ROOT:-/proc/sys}

die() {
  printf '%s: error: %s\n' "$PROG" "$*" >&2
  exit 1
}

usage() { sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"; }

is_ipv4() {
  local IFS=. part
  [[ $1 =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] || return 1
  for part in $1; do
    [[ $part =~ ^(0|[1-9][0-9]*)$ ]] && [ "$part" -le 255 ] || return 1
  done
}

is_port() { [[ $1 =~ ^[1-9][0-9]{0,4}$ ]] && [ "$1" -le 65535 ]; }

# What an imported TCP flow is marked: it has seen replies, and stays until it ends.
readonly TCP_STATUS=ASSURED,SEEN_REPLY
readonly TCP_STATES='ESTABLISHED SYN_SENT SYN_RECV FIN_WAIT CLOSE_WAIT LAST_ACK TIME_WAIT CLOSE'

# The flows of conntrack -L whose reply goes to the NAT address, as export lines; the count of
# those skipped (the host's own, or in a state import does not take) goes to stderr.
export_flows() {
  local address=$1 proto listing errors
  errors=$(mktemp)
  for proto in tcp udp; do
    # One listing per protocol; conntrack reports its count, or its failure, on stderr.
    if ! listing=$(conntrack -L -p "$proto" --reply-dst "$address" 2>"$errors"); then
      listing=$(cat "$errors")
      rm -f "$errors"
      die "conntrack -L -p $proto failed: $listing"
    fi
    [ -n "$listing" ] || continue
    printf '%s\n' "$listing" | awk -v proto="$proto" -v self="$address" -v states="$TCP_STATES" '
      BEGIN { split(states, list, " "); for (i in list) allowed[list[i]] = 1 }
      {
        timeout = $3; n = 0; unreplied = 0
        for (i = 1; i <= NF; i++) {
          if ($i == "[UNREPLIED]") unreplied = 1
          split($i, kv, "=")
          if (kv[1] == "src" || kv[1] == "dst" || kv[1] == "sport" || kv[1] == "dport") { n++; v[kv[1] n] = kv[2] }
        }
        # original: src1 dst2 sport3 dport4; reply: src5 dst6 sport7 dport8
        state = (proto == "tcp") ? $4 : (unreplied ? "unreplied" : "replied")
        if (v["src1"] == self || (proto == "tcp" && !(state in allowed))) { skipped++; next }
        print proto, v["src1"], v["sport3"], v["dst2"], v["dport4"], v["dport8"], timeout, state
      }
      END { if (skipped) printf "%s: skipped %d %s entries (the host\047s own, or in a state import does not take)\n", "conntrack-handoff.sh", skipped, proto > "/dev/stderr" }'
  done
  rm -f "$errors"
}

# Checks one export line; prints why it is malformed, or nothing.
line_problem() {
  local proto=$1 src=$2 sport=$3 dst=$4 dport=$5 natport=$6 timeout=$7 state=$8 extra=${9:-}
  [ -z "$extra" ] || { echo "more than 8 fields"; return; }
  [[ $proto == tcp || $proto == udp ]] || { echo "protocol '$proto' is not tcp or udp"; return; }
  if ! { is_ipv4 "$src" && is_ipv4 "$dst"; }; then echo "addresses '$src' '$dst' are not both IPv4"; return; fi
  if ! { is_port "$sport" && is_port "$dport" && is_port "$natport"; }; then echo "ports '$sport' '$dport' '$natport' are not all 1-65535"; return; fi
  if ! { [[ $timeout =~ ^[0-9]{1,6}$ ]] && [ "$timeout" -le "$MAX_TIMEOUT" ]; }; then echo "timeout '$timeout' is not 0-$MAX_TIMEOUT seconds"; return; fi
  if [ "$proto" = udp ]; then
    [[ $state == replied || $state == unreplied ]] || echo "state '$state' is not replied or unreplied, as a UDP flow's is"
  elif [[ " $TCP_STATES " != *" $state "* ]]; then
    echo "state '$state' is not a TCP state conntrack takes ($TCP_STATES)"
  fi
}

# Until configure-nat.sh runs, the imported flows pass and nothing else does. A reply for a flow
# that is not imported (opened after the pull) is dropped, not delivered to the host: there no
# socket would answer it with a reset, and the pass after the move may still import its flow.
prepare_host() {
  command -v nft >/dev/null 2>&1 || die "nft is not on PATH; install nftables"
  nft -f - <<EOF || die "nft could not load the $HANDOFF_TABLE table"
table ip $HANDOFF_TABLE
delete table ip $HANDOFF_TABLE
table ip $HANDOFF_TABLE {
	chain input {
		type filter hook input priority filter; policy accept;
		iifname "lo" accept
		ct state new,invalid drop
	}
	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state established,related accept
	}
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
	}
}
EOF
  printf '1\n' >"$SYSCTL_ROOT/net/ipv4/ip_forward" || die "cannot turn IPv4 forwarding on"
}

import_flows() {
  local address=$1 file=$2 known=$3 n=0 created=0 failed=0 problem line key
  local -a lines=() fields
  local -A seen=()
  mapfile -t lines <"$file"
  [ "${#lines[@]}" -le 1048576 ] || die "$file: ${#lines[@]} lines, more than any table holds"
  # All or nothing: a file with one malformed line is not from this script.
  for line in "${lines[@]}"; do
    n=$((n + 1))
    read -r -a fields <<<"$line"
    [ "${#fields[@]}" -ge 8 ] || die "$file line $n: expected 8 fields, got ${#fields[@]}"
    problem=$(line_problem "${fields[@]}")
    [ -z "$problem" ] || die "$file line $n: $problem"
  done
  # A later pass creates only what an earlier one did not: one conntrack process per new flow.
  if [ -n "$known" ] && [ -s "$known" ]; then
    while read -r -a fields; do seen["${fields[*]:0:5}"]=1; done <"$known"
  fi
  prepare_host
  local present=0 first_error="" output
  for line in "${lines[@]}"; do
    read -r -a fields <<<"$line"
    key="${fields[*]:0:5}"
    if [ -n "${seen[$key]:-}" ]; then
      present=$((present + 1))
      continue
    fi
    local -a args=(-I -p "${fields[0]}" -s "${fields[1]}" --sport "${fields[2]}" -d "${fields[3]}" --dport "${fields[4]}"
      --src-nat "$address:${fields[5]}" --timeout "${fields[6]}")
    case "${fields[0]}:${fields[7]}" in
      tcp:*) args+=(--state "${fields[7]}" -u "$TCP_STATUS") ;;
      udp:replied) args+=(-u SEEN_REPLY) ;;
      *) ;;
    esac
    if output=$(conntrack "${args[@]}" 2>&1); then
      created=$((created + 1))
      if [ -n "$known" ]; then printf '%s\n' "$line" >>"$known"; fi
    elif [[ $output == *"File exists"* ]]; then
      # Imported before, by a pass that kept no list: nothing to do.
      present=$((present + 1))
      if [ -n "$known" ]; then printf '%s\n' "$line" >>"$known"; fi
    else
      failed=$((failed + 1))
      [ -n "$first_error" ] || first_error="line ${fields[*]}: ${output##*: }"
    fi
  done
  printf '%s: %d flows imported, %d already present, %d failed\n' "$PROG" "$created" "$present" "$failed"
  [ "$failed" -eq 0 ] || die "$failed of ${#lines[@]} flows could not be created; the first: $first_error"
}

# Removes the handoff's table once configure-nat.sh has put the NAT's own rules in; without them
# the host would forward everything, untranslated, so it turns forwarding off and fails instead.
finish() {
  local output
  if ! nft list table ip nat_instance >/dev/null 2>&1; then
    printf '0\n' >"$SYSCTL_ROOT/net/ipv4/ip_forward" || true
    die "configure-nat.sh has not loaded the NAT's rules (no nft table ip nat_instance); forwarding is now off"
  fi
  if ! output=$(nft delete table ip "$HANDOFF_TABLE" 2>&1) && [[ $output != *"No such file or directory"* ]]; then
    die "nft could not delete the $HANDOFF_TABLE table: $output"
  fi
}

is_instance() { [[ $1 =~ ^i-[0-9a-f]{8,17}$ ]]; }
is_count() { [[ $1 =~ ^(0|[1-9][0-9]{0,6})$ ]]; }

# One request from stdin, one answer on stdout: what the socket-activated service runs.
serve() {
  local address=$1 hook=$2 request="" word="" id="" flows="" extra="" lines
  IFS= read -r -t "$REQUEST_SECONDS" -n 128 request || [ -n "$request" ] || die "no request within ${REQUEST_SECONDS}s"
  request=${request%$'\r'}
  read -r word id flows extra <<<"$request" || true
  case "$word" in
    state)
      [ -z "$id" ] || die "state takes no argument"
      lines=$(export_flows "$address") || exit 1
      [ -z "$lines" ] || printf '%s\n' "$lines"
      printf 'end %d\n' "$(printf '%s' "$lines" | grep -c '')"
      ;;
    ready)
      is_instance "$id" || die "ready: instance ID: got '${id:0:40}'; expected i- and 8 to 17 hex digits"
      if ! is_count "$flows" || [ -n "$extra" ]; then
        die "ready: flows: got '${flows:0:20}${extra:+ $extra}'; expected a count from 0 to 9999999"
      fi
      [ -n "$hook" ] || die "ready: this NAT has no --ready-hook to tell the controller with"
      "$hook" "$id" "$flows" || die "ready: $hook failed"
      printf 'ok\n'
      ;;
    *) die "unknown request '${request:0:40}'; expected state or ready ID N" ;;
  esac
}

# Sends one request to the old NAT and prints its answer, all within SECONDS.
request() {
  local from=$1 port=$2 line=$3
  # shellcheck disable=SC2016 # expanded by the inner bash, from its arguments
  timeout "$SECONDS_ALLOWED" bash -c 'exec 3<>"/dev/tcp/$0/$1" && printf "%s\n" "$2" >&3 && cat <&3' "$from" "$port" "$line" ||
    die "no answer from $from:$port to '$line' within ${SECONDS_ALLOWED}s"
}

# Prints the flows of the old NAT's answer, once it is known to be whole.
pull() {
  local from=$1 port=$2 answer last count
  answer=$(request "$from" "$port" state) || exit 1
  last=${answer##*$'\n'}
  [[ $last =~ ^end\ (0|[1-9][0-9]{0,6})$ ]] || die "the answer from $from:$port does not end with its count: it was cut off, or is not from conntrack-handoff.sh"
  count=${last#end }
  answer=${answer%"$last"}
  [ "$(printf '%s' "$answer" | grep -c '')" -eq "$count" ] || die "the answer from $from:$port announces $count flows but holds $(printf '%s' "$answer" | grep -c '')"
  printf '%s' "$answer"
}

main() {
  [ $# -gt 0 ] || { usage >&2; die "a command is required: export, import, finish, serve, pull or ready"; }
  local cmd=$1 address="" file=""
  shift
  case "$cmd" in
    -h | --help) usage; return 0 ;;
    export | import | serve | pull | ready) ;;
    finish)
      [ $# -eq 0 ] || die "finish takes no options"
      command -v nft >/dev/null 2>&1 || die "nft is not on PATH; install nftables"
      finish
      return 0
      ;;
    *) usage >&2; die "unknown command '$cmd'; expected export, import, finish, serve, pull or ready" ;;
  esac
  local from="" port="" id="" flows="" hook="" known_file=""
  # Each command's options, as command:option.
  local -a known=(export:--nat-address export:--out import:--nat-address import:--in import:--known
    serve:--nat-address serve:--ready-hook
    pull:--from pull:--port pull:--out pull:--seconds
    ready:--from ready:--port ready:--seconds ready:--instance-id ready:--flows)
  while [ $# -gt 0 ]; do
    [[ " ${known[*]} " == *" $cmd:$1 "* ]] || die "unknown option '${1:0:40}' for $cmd"
    [ $# -ge 2 ] || die "$1 needs a value"
    case "$1" in
      --nat-address) address=$2 ;;
      --out | --in) file=$2 ;;
      --from) from=$2 ;;
      --port) port=$2 ;;
      --instance-id) id=$2 ;;
      --flows) flows=$2 ;;
      --ready-hook) hook=$2 ;;
      --known) known_file=$2 ;;
      --seconds) SECONDS_ALLOWED=$2 ;;
    esac
    shift 2
  done
  if [ "$cmd" = pull ] || [ "$cmd" = ready ]; then
    is_ipv4 "$from" || die "--from: got '${from:0:40}'; expected the old NAT's IPv4 address, such as 10.0.0.10"
    is_port "$port" || die "--port: got '${port:0:20}'; expected a TCP port from 1 to 65535"
    if ! [[ $SECONDS_ALLOWED =~ ^[1-9][0-9]?$ ]] || [ "$SECONDS_ALLOWED" -gt 60 ]; then
      die "--seconds: got '${SECONDS_ALLOWED:0:20}'; expected whole seconds from 1 to 60"
    fi
  fi
  case "$cmd" in
    pull)
      if [ -n "$file" ]; then
        pull "$from" "$port" >"$file.partial" || exit 1
        mv "$file.partial" "$file"
      else
        pull "$from" "$port"
      fi
      return 0
      ;;
    ready)
      is_instance "$id" || die "--instance-id: got '${id:0:40}'; expected i- and 8 to 17 hex digits"
      is_count "$flows" || die "--flows: got '${flows:0:20}'; expected a count from 0 to 9999999"
      [ "$(request "$from" "$port" "ready $id $flows")" = ok ] || die "$from:$port did not acknowledge ready $id $flows"
      return 0
      ;;
  esac
  is_ipv4 "$address" || die "--nat-address: got '$address'; expected the NAT interface's IPv4 address, such as 10.0.0.10"
  if [ -n "$hook" ] && { [[ $hook != /* ]] || [ ! -x "$hook" ]; }; then
    die "--ready-hook: got '${hook:0:80}'; expected the absolute path of an executable"
  fi
  command -v conntrack >/dev/null 2>&1 || die "conntrack is not on PATH; install conntrack-tools"
  if [ "$cmd" = serve ]; then
    serve "$address" "$hook"
  elif [ "$cmd" = export ]; then
    if [ -n "$file" ]; then
      # Written whole or not at all: an empty file would import as "0 flows".
      export_flows "$address" >"$file.partial"
      mv "$file.partial" "$file"
    else
      export_flows "$address"
    fi
  else
    [ -n "$file" ] || file=/dev/stdin
    [ -r "$file" ] || die "--in: cannot read '$file'"
    if [ -n "$known_file" ] && ! touch "$known_file" 2>/dev/null; then
      die "--known: cannot write '${known_file:0:80}'"
    fi
    import_flows "$address" "$file" "$known_file"
  fi
}

main "$@"
