#!/usr/bin/env bash
# load.sh: the first thing a NAT instance runs, from its user data. The instance has no public
# address of its own: this waits for the static interface the controller attaches at launch and
# routes through it, fetches the other scripts from the stack's asset bucket, refuses any whose
# SHA-256 is not the one the user data names, and hands over to `nat-bootstrap.sh setup`. A
# failure signals FAILURE to CloudFormation and exits non-zero; nothing unverified is kept or run.
#
#   load.sh --region REGION --stack-name NAME --resource LOGICAL_ID --eni-id ENI [--before-interface]
#           --fetch FILE BUCKET KEY SHA256 [--fetch ...] -- [SETUP_ARGS ...]
#
# --before-interface (the connection-state handoff, which the bootstrap must run while the old
# NAT still holds the interface): fetch first, through the public subnets' S3 gateway endpoint,
# and hand over without waiting for the interface; if the fetch fails so, wait and fetch as usual.
set -euo pipefail

readonly PROG=${0##*/}
# Overridable so that tests can run this script against fakes.
INSTALL_DIR=${NAT_INSTALL_DIR:-/opt/nat-instance}
# Written beside this script by the user data: logging, retries, instance metadata, the route.
# shellcheck source=/dev/null
. "$INSTALL_DIR/nat-lib.sh"

REGION=""
ENI_ID=""
STACK_NAME=""
RESOURCE=""
FILES=()
SETUP_ARGS=()
HANDED_OVER=false
BEFORE_INTERFACE=false
WORK_DIR=""

usage() { sed -n "s/^#   load.sh/Usage: $PROG/p; s/^#  //p" "$0"; }

# The forms of the --fetch values (a key of words joined by ._/-, so never '..').
FORM+=(
  [script]='^[a-z][a-z-]{0,63}\.sh$ a script name'
  [bucket]='^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$ an S3 bucket name'
  [key]='^[A-Za-z0-9]+([._/-][A-Za-z0-9]+)*$ an S3 object key of words joined by ._/-'
  [sha256]='^[0-9a-f]{64}$ a SHA-256 digest'
)

# Checks one single-valued option and keeps its value.
set_option() {
  case "$1" in
    --region) check_value "$1" "$2" region; REGION=$2 ;;
    --stack-name) check_value "$1" "$2" stack; STACK_NAME=$2 ;;
    --resource) check_value "$1" "$2" resource; RESOURCE=$2 ;;
    --eni-id) check_value "$1" "$2" eni; ENI_ID=$2 ;;
  esac
}

parse_args() {
  while [ $# -gt 0 ]; do
    case "$1" in
      --region | --stack-name | --resource | --eni-id)
        [ $# -ge 2 ] || die "$1 needs a value"
        set_option "$1" "$2"
        shift 2 ;;
      --fetch)
        [ $# -ge 5 ] || die "--fetch needs FILE BUCKET KEY SHA256"
        check_value '--fetch FILE' "$2" script
        check_value '--fetch BUCKET' "$3" bucket
        check_value '--fetch KEY' "$4" key
        check_value '--fetch SHA256' "$5" sha256
        FILES+=("$2 $3 $4 $5")
        shift 5 ;;
      --)
        shift
        SETUP_ARGS=("$@")
        break ;;
      --before-interface) BEFORE_INTERFACE=true; shift ;;
      -h | --help) usage; exit 0 ;;
      *) usage >&2; die "unknown argument $(shown "$1")" ;;
    esac
  done
  [ -n "$REGION" ] || die "--region is required"
  [ -n "$STACK_NAME" ] || die "--stack-name is required"
  [ -n "$RESOURCE" ] || die "--resource is required"
  [ -n "$ENI_ID" ] || die "--eni-id is required"
  [ ${#FILES[@]} -gt 0 ] || die "at least one --fetch is required"
}

# Downloads one script, verifies it, and only then installs it.
fetch() {
  local name=$1 bucket=$2 key=$3 sha=$4 file actual
  file=$WORK_DIR/$name
  retry aws --region "$REGION" s3 cp --only-show-errors "s3://$bucket/$key" "$file" >&2 ||
    die "cannot fetch $name from s3://$bucket/$key"
  actual=$(sha256sum "$file" | awk '{print $1}')
  [ "$actual" = "$sha" ] || die "$name from s3://$bucket/$key has SHA-256 $actual, not $sha; refusing to run it"
  install -m 0755 "$file" "$INSTALL_DIR/$name"
  log "installed $name ($sha)"
}

fetch_all() {
  local entry
  for entry in "${FILES[@]}"; do
    # shellcheck disable=SC2086 # the four fields were validated and hold no spaces
    fetch $entry
  done
}

instance_id() { imds_token && imds instance-id; }

# Until the bootstrap takes over, a failure here is the deployment's failure.
report_failure() {
  local status=$? id
  [ -z "$WORK_DIR" ] || rm -rf "$WORK_DIR"
  [ "$status" -ne 0 ] && [ "$HANDED_OVER" = false ] || return 0
  if [ -n "$REGION" ] && [ -n "$STACK_NAME" ] && [ -n "$RESOURCE" ]; then
    id=$(instance_id 2>/dev/null) || id=unknown-instance
    valid instance "$id" || id=unknown-instance
    aws --region "$REGION" cloudformation signal-resource --stack-name "$STACK_NAME" \
      --logical-resource-id "$RESOURCE" --unique-id "$id" --status FAILURE ||
      log "could not signal FAILURE to $STACK_NAME/$RESOURCE"
  fi
  exit "$status"
}

main() {
  local dev
  parse_args "$@"
  trap report_failure EXIT
  install -d -m 0755 "$INSTALL_DIR"
  WORK_DIR=$(mktemp -d)
  if [ "$BEFORE_INTERFACE" = false ] || ! (RETRY_ATTEMPTS=2 fetch_all); then
    [ "$BEFORE_INTERFACE" = false ] || log "cannot fetch the scripts before the interface arrives; waiting for it"
    dev=$(egress_through "$ENI_ID") || exit 1
    log "egress through $dev ($ENI_ID)"
    fetch_all
  fi
  [ -x "$INSTALL_DIR/nat-bootstrap.sh" ] || die "no nat-bootstrap.sh among the fetched scripts"
  rm -rf "$WORK_DIR"
  WORK_DIR=""
  HANDED_OVER=true
  trap - EXIT
  exec "$INSTALL_DIR/nat-bootstrap.sh" setup --stack-name "$STACK_NAME" --resource "$RESOURCE" --eni-id "$ENI_ID" "${SETUP_ARGS[@]}"
}

main "$@"
