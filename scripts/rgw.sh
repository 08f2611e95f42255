#!/usr/bin/env bash
# Runs a throwaway single-node Ceph RADOS Gateway (S3 API) on 127.0.0.1 for tests and CI.
#
# Usage: scripts/rgw.sh install|start|stop|env
#
#   install  Install ceph-mon, ceph-osd and radosgw with apt-get unless they are on PATH.
#   start    Start mon, memstore OSD and radosgw, create the S3 user and the bucket, then
#            print NAME=value lines for the S3_* variables on stdout. Progress goes to stderr,
#            so `scripts/rgw.sh start >> "$GITHUB_ENV"` works.
#   stop     Stop the daemons recorded in the pid files and delete the state folder.
#   env      Print `export S3_...=value` lines, for use as `eval "$(scripts/rgw.sh env)"`.
#
# Settings (environment variables):
#   RGW_DIR             state folder, deleted by stop (default /tmp/media-gateway-rgw)
#   RGW_PORT            S3 port on 127.0.0.1 (default 7480)
#   RGW_MON_PORT        monitor port on 127.0.0.1 (default 3300)
#   RGW_MEMSTORE_BYTES  OSD capacity in bytes, kept in RAM (default 4294967296, 4 GiB)
#   RGW_ACCESS_KEY      S3 access key id (default rgwaccess)
#   RGW_SECRET_KEY      S3 secret access key (default rgwsecret)
#   RGW_BUCKET          bucket that start creates (default media-gateway-test)
#   RGW_STEP_TIMEOUT    maximum seconds for each start or stop step (default 60)
#
# The cluster has one mon, one OSD with the memstore backend (data lives in RAM and is lost
# on stop) and no mgr. Without a mgr, `ceph -s` shows "mgr: no daemons active" and no pool
# usage, and some Ceph versions warn "no active mgr". S3 requests do not need a mgr.

set -euo pipefail

RGW_DIR=${RGW_DIR:-/tmp/media-gateway-rgw}
RGW_PORT=${RGW_PORT:-7480}
RGW_MON_PORT=${RGW_MON_PORT:-3300}
RGW_MEMSTORE_BYTES=${RGW_MEMSTORE_BYTES:-4294967296}
RGW_ACCESS_KEY=${RGW_ACCESS_KEY:-rgwaccess}
RGW_SECRET_KEY=${RGW_SECRET_KEY:-rgwsecret}
RGW_BUCKET=${RGW_BUCKET:-media-gateway-test}
RGW_STEP_TIMEOUT=${RGW_STEP_TIMEOUT:-60}

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(dirname "$SCRIPT_DIR")

# stop deletes RGW_DIR recursively, but only when it contains this marker file.
STATE_MARKER=.media-gateway-rgw
DAEMONS_START_ORDER=(mon osd rgw)
DAEMONS_STOP_ORDER=(rgw osd mon)
REQUIRED_COMMANDS=(ceph-mon ceph-osd radosgw radosgw-admin ceph ceph-authtool monmaptool)

log() {
  echo "rgw.sh [${SECONDS}s]: $*" >&2
}

die() {
  log "error: $*"
  exit 1
}

# Print the last lines of each log file that exists, to show why a step failed.
show_logs() {
  local file
  for file in "$@"; do
    if [[ -s $file ]]; then
      echo "----- last 30 lines of $file -----" >&2
      tail -n 30 "$file" >&2
    fi
  done
}

# Exit with an error message and the tails of the given log files.
die_with_logs() {
  local message=$1
  shift
  log "error: $message"
  show_logs "$@"
  log "state and logs are kept in $RGW_DIR; run '$0 stop' to stop the daemons and delete it"
  exit 1
}

# Run a command every 0.5 s until it succeeds, and fail once `seconds` have passed.
wait_until() {
  local seconds=$1
  shift
  # SECONDS counts whole seconds, so the extra 1 keeps the wait from ending early.
  local deadline=$((SECONDS + seconds + 1))
  while ((SECONDS < deadline)); do
    if "$@" >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.5
  done
  return 1
}

validate_settings() {
  local name
  for name in RGW_PORT RGW_MON_PORT RGW_MEMSTORE_BYTES RGW_STEP_TIMEOUT; do
    [[ ${!name} =~ ^[1-9][0-9]*$ ]] || die "invalid $name '${!name}': expected a positive integer"
  done
  [[ $RGW_DIR == /* ]] || die "invalid RGW_DIR '$RGW_DIR': expected an absolute path"
  [[ $RGW_DIR =~ ^[A-Za-z0-9_./-]+$ ]] ||
    die "invalid RGW_DIR '$RGW_DIR': use only letters, digits and . _ - / because ceph.conf stores it unquoted"
  [[ $RGW_DIR != / ]] || die "invalid RGW_DIR '/': stop deletes this folder"
  [[ $RGW_BUCKET =~ ^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$ ]] ||
    die "invalid RGW_BUCKET '$RGW_BUCKET': S3 bucket names have 3-63 characters a-z, 0-9, '.' and '-'"
  [[ -n $RGW_ACCESS_KEY && -n $RGW_SECRET_KEY ]] || die "RGW_ACCESS_KEY and RGW_SECRET_KEY must not be empty"
}

print_env() {
  local prefix=$1
  local name
  local -A values=(
    [S3_ENDPOINT]="http://127.0.0.1:$RGW_PORT"
    [S3_REGION]=us-east-1
    [S3_BUCKET]=$RGW_BUCKET
    [S3_ACCESS_KEY_ID]=$RGW_ACCESS_KEY
    [S3_SECRET_ACCESS_KEY]=$RGW_SECRET_KEY
    [S3_FORCE_PATH_STYLE]=true
  )
  for name in S3_ENDPOINT S3_REGION S3_BUCKET S3_ACCESS_KEY_ID S3_SECRET_ACCESS_KEY S3_FORCE_PATH_STYLE; do
    if [[ -n $prefix ]]; then
      printf '%s%s=%q\n' "$prefix" "$name" "${values[$name]}"
    else
      printf '%s=%s\n' "$name" "${values[$name]}"
    fi
  done
}

# ---------------------------------------------------------------------------------------------
# install

all_packages_installed() {
  local package
  for package in "$@"; do
    [[ $(dpkg-query -W -f='${Status}' "$package" 2>/dev/null) == "install ok installed" ]] || return 1
  done
}

cmd_install() {
  local missing=() command_name
  for command_name in "${REQUIRED_COMMANDS[@]}"; do
    command -v "$command_name" >/dev/null || missing+=("$command_name")
  done
  if ((${#missing[@]} == 0)); then
    log "ceph-mon, ceph-osd and radosgw are already installed"
    return 0
  fi
  log "missing commands: ${missing[*]}"

  local sudo=()
  if ((EUID != 0)); then
    command -v sudo >/dev/null || die "installing packages requires root or sudo"
    sudo=(sudo)
  fi

  local packages=(ceph-mon ceph-osd radosgw)
  command -v curl >/dev/null || packages+=(curl)
  # The package lists are refreshed only when a package is not installed yet, because an
  # update costs time and network on every CI run.
  if all_packages_installed "${packages[@]}"; then
    log "packages are installed, but commands are missing from PATH; reinstalling"
  else
    log "running apt-get update"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  fi
  log "installing ${packages[*]}"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${packages[@]}"
}

# ---------------------------------------------------------------------------------------------
# Daemon bookkeeping

conf_file() {
  echo "$RGW_DIR/ceph.conf"
}

# Print the PID stored for a daemon (mon, osd or rgw). Fails unless that process is alive and was
# started with this state folder's ceph.conf, which guards against reused PIDs.
daemon_pid() {
  local name=$1
  local pid_file="$RGW_DIR/$name.pid"
  local pid
  [[ -f $pid_file ]] || return 1
  pid=$(<"$pid_file")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$(conf_file)" || return 1
  echo "$pid"
}

all_daemons_alive() {
  local name
  for name in "${DAEMONS_START_ORDER[@]}"; do
    daemon_pid "$name" >/dev/null || return 1
  done
}

# Succeeds when a TCP server accepts connections on 127.0.0.1:port.
port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

endpoint_answers() {
  curl -s -m 2 -o /dev/null "http://127.0.0.1:$RGW_PORT/"
}

# Start a daemon in the background, record its PID and keep its stdout and stderr in a log.
spawn_daemon() {
  local name=$1
  shift
  "$@" >"$RGW_DIR/log/$name.out" 2>&1 </dev/null &
  echo $! >"$RGW_DIR/$name.pid"
}

# Send SIGTERM to one daemon and wait for it to exit. After RGW_STEP_TIMEOUT seconds, send SIGKILL.
stop_daemon() {
  local name=$1
  local pid
  if ! pid=$(daemon_pid "$name"); then
    rm -f "$RGW_DIR/$name.pid"
    return 0
  fi
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_until "$RGW_STEP_TIMEOUT" bash -c "! kill -0 $pid"; then
    log "$name (pid $pid) did not exit within ${RGW_STEP_TIMEOUT}s of SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_until 10 bash -c "! kill -0 $pid" || die "$name (pid $pid) is still running after SIGKILL"
  fi
  rm -f "$RGW_DIR/$name.pid"
}

# ---------------------------------------------------------------------------------------------
# stop

cmd_stop() {
  validate_settings
  if [[ ! -e $RGW_DIR ]]; then
    log "nothing to stop: $RGW_DIR does not exist"
    return 0
  fi
  [[ -f $RGW_DIR/$STATE_MARKER ]] ||
    die "$RGW_DIR has no $STATE_MARKER file, so this script did not create it and will not delete it; check RGW_DIR"

  # The daemons stop one at a time, radosgw first. When radosgw and the OSD got SIGTERM
  # together, radosgw hung until its own 120 s shutdown alarm ended it.
  local name
  for name in "${DAEMONS_STOP_ORDER[@]}"; do
    stop_daemon "$name"
  done
  rm -rf -- "$RGW_DIR"
  log "stopped; removed $RGW_DIR"
}

# ---------------------------------------------------------------------------------------------
# start

write_ceph_conf() {
  local fsid=$1
  cat >"$(conf_file)" <<CONF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$RGW_MON_PORT
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind ipv6 = false
keyring = $RGW_DIR/keyring
run dir = $RGW_DIR/run
log file = $RGW_DIR/log/\$name.log
admin socket = $RGW_DIR/run/\$name.asok
pid file = $RGW_DIR/run/\$name.pid
# A single OSD can hold only one copy of each object, and with autoscaling off every pool
# gets a small fixed number of placement groups.
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
mon allow pool delete = true
# The mon shuts down when free space on its data disk drops below the crit percentage
# (default 5, warn 30), which would end a test run on a nearly full disk.
mon data avail warn = 2
mon data avail crit = 1
auth allow insecure global id reclaim = false
# Every pool that radosgw creates waits for a new OSD map, and the mon proposes map changes at
# most once per interval (default 1 s). With 0.1 s a fresh start took about 3 s instead of 20 s
# (Ceph 16.2 on a 2-CPU VM, measured with this script).
paxos propose interval = 0.1

[mon.a]
mon data = $RGW_DIR/mon.a

[osd.0]
osd data = $RGW_DIR/osd.0
osd objectstore = memstore
memstore device bytes = $RGW_MEMSTORE_BYTES

[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw data = $RGW_DIR/rgw
# Deleted objects stay in the OSD until garbage collection removes them (defaults: 2 h wait,
# 1 h period). Short waits free the RAM-backed OSD sooner, so a long test run does not fill it.
# Running radosgw-admin -c $RGW_DIR/ceph.conf gc process --include-all frees it at once.
rgw gc obj min wait = 5
rgw gc processor period = 10
rgw gc processor max time = 10
CONF
}

# Create the cephx keyring. With auth set to none, radosgw 16.2 kept retrying its mon handshake
# every 3 s and never opened the S3 port.
create_keyring() {
  local keyring="$RGW_DIR/keyring"
  ceph-authtool --create-keyring "$keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool "$keyring" --gen-key -n client.admin \
    --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' >/dev/null
  ceph-authtool "$keyring" --gen-key -n osd.0 \
    --cap mon 'allow profile osd' --cap osd 'allow *' >/dev/null
  ceph-authtool "$keyring" --gen-key -n client.rgw.a \
    --cap mon 'allow rw' --cap osd 'allow rwx' >/dev/null
}

ceph_cli() {
  timeout 15 ceph -c "$(conf_file)" --connect-timeout 10 "$@"
}

osd_is_up() {
  ceph_cli osd stat -f json 2>/dev/null | grep -q '"num_up_osds":1'
}

start_mon() {
  local fsid=$1
  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$RGW_MON_PORT]" "$RGW_DIR/monmap" >/dev/null
  ceph-mon -c "$(conf_file)" -i a --mkfs --monmap "$RGW_DIR/monmap" --keyring "$RGW_DIR/keyring" \
    >"$RGW_DIR/log/mon-mkfs.out" 2>&1 ||
    die_with_logs "ceph-mon --mkfs failed" "$RGW_DIR/log/mon-mkfs.out"
  spawn_daemon mon ceph-mon -c "$(conf_file)" -i a -f
  log "waiting for the mon on 127.0.0.1:$RGW_MON_PORT"
  wait_until "$RGW_STEP_TIMEOUT" ceph_cli -s ||
    die_with_logs "mon did not answer within ${RGW_STEP_TIMEOUT}s" \
      "$RGW_DIR/log/mon.out" "$RGW_DIR/log/mon.a.log"
}

start_osd() {
  local osd_uuid osd_id
  osd_uuid=$(cat /proc/sys/kernel/random/uuid)
  osd_id=$(ceph_cli osd new "$osd_uuid") ||
    die_with_logs "'ceph osd new' failed" "$RGW_DIR/log/mon.a.log"
  [[ $osd_id == 0 ]] || die "'ceph osd new' returned OSD id '$osd_id', expected 0"
  ceph-osd -c "$(conf_file)" -i 0 --mkfs --osd-uuid "$osd_uuid" >"$RGW_DIR/log/osd-mkfs.out" 2>&1 ||
    die_with_logs "ceph-osd --mkfs failed" "$RGW_DIR/log/osd-mkfs.out" "$RGW_DIR/log/osd.0.log"
  spawn_daemon osd ceph-osd -c "$(conf_file)" -i 0 -f
  log "waiting for the OSD to be up"
  wait_until "$RGW_STEP_TIMEOUT" osd_is_up ||
    die_with_logs "OSD was not up within ${RGW_STEP_TIMEOUT}s" \
      "$RGW_DIR/log/osd.out" "$RGW_DIR/log/osd.0.log"
}

start_rgw() {
  spawn_daemon rgw radosgw -c "$(conf_file)" -n client.rgw.a -f
  log "waiting for radosgw on http://127.0.0.1:$RGW_PORT"
  wait_until "$RGW_STEP_TIMEOUT" endpoint_answers ||
    die_with_logs "radosgw did not answer on port $RGW_PORT within ${RGW_STEP_TIMEOUT}s" \
      "$RGW_DIR/log/rgw.out" "$RGW_DIR/log/client.rgw.a.log"
}

create_s3_user() {
  timeout "$RGW_STEP_TIMEOUT" radosgw-admin -c "$(conf_file)" user create \
    --uid=media-gateway-test --display-name="media-gateway tests" \
    --access-key="$RGW_ACCESS_KEY" --secret-key="$RGW_SECRET_KEY" \
    >"$RGW_DIR/log/user-create.out" 2>&1 ||
    die_with_logs "radosgw-admin user create failed or timed out after ${RGW_STEP_TIMEOUT}s" \
      "$RGW_DIR/log/user-create.out" "$RGW_DIR/log/client.rgw.a.log"
}

# Create the bucket unless it exists, using the AWS SDK from the repository's node_modules,
# because radosgw-admin cannot create buckets. radosgw creates its data pools on first use, so
# this also writes and deletes a small object and aborts a multipart upload. Without that, the
# first PutObject and CreateMultipartUpload after a fresh start each took about 0.2 s longer.
ensure_bucket() {
  command -v node >/dev/null || die "node is not on PATH; it is needed to create the bucket"
  [[ -d $REPO_ROOT/node_modules/@aws-sdk/client-s3 ]] ||
    die "@aws-sdk/client-s3 not found in $REPO_ROOT/node_modules; run 'npm ci' in $REPO_ROOT first"

  local output_file="$RGW_DIR/log/ensure-bucket.out"
  if ! REPO_ROOT=$REPO_ROOT S3_ENDPOINT="http://127.0.0.1:$RGW_PORT" S3_BUCKET=$RGW_BUCKET \
    S3_ACCESS_KEY_ID=$RGW_ACCESS_KEY S3_SECRET_ACCESS_KEY=$RGW_SECRET_KEY \
    DEADLINE_MS=$((RGW_STEP_TIMEOUT * 1000)) NODE_NO_WARNINGS=1 \
    timeout $((RGW_STEP_TIMEOUT + 10)) node --input-type=module >"$output_file" 2>&1 <<'JS'; then
import { createRequire } from 'node:module';

const require = createRequire(`${process.env.REPO_ROOT}/package.json`);
const {
  S3Client,
  HeadBucketCommand,
  CreateBucketCommand,
  PutObjectCommand,
  DeleteObjectCommand,
  CreateMultipartUploadCommand,
  AbortMultipartUploadCommand,
} = require('@aws-sdk/client-s3');

const client = new S3Client({
  endpoint: process.env.S3_ENDPOINT,
  region: 'us-east-1',
  forcePathStyle: true,
  credentials: {
    accessKeyId: process.env.S3_ACCESS_KEY_ID,
    secretAccessKey: process.env.S3_SECRET_ACCESS_KEY,
  },
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
});
const Bucket = process.env.S3_BUCKET;
const Key = '.rgw-sh-warm-up';
const deadline = Date.now() + Number(process.env.DEADLINE_MS);

async function ensureBucket() {
  try {
    await client.send(new HeadBucketCommand({ Bucket }));
    console.log(`bucket ${Bucket} exists`);
  } catch (error) {
    if (error?.$metadata?.httpStatusCode !== 404) throw error;
    await client.send(new CreateBucketCommand({ Bucket }));
    console.log(`created bucket ${Bucket}`);
  }
  await client.send(new PutObjectCommand({ Bucket, Key, Body: 'warm-up' }));
  await client.send(new DeleteObjectCommand({ Bucket, Key }));
  const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket, Key }));
  await client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId }));
}

for (;;) {
  try {
    await ensureBucket();
    break;
  } catch (error) {
    if (Date.now() > deadline) {
      console.error(`preparing bucket ${Bucket} failed: ${error?.name}: ${error?.message}`);
      process.exit(1);
    }
    console.error(`retrying after ${error?.name}: ${error?.message}`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}
JS
    die_with_logs "creating or writing to bucket $RGW_BUCKET failed" "$output_file" "$RGW_DIR/log/client.rgw.a.log"
  fi
  log "$(grep -m 1 '^\(created \)\{0,1\}bucket ' "$output_file")"
}

# Check that the state folder path fits a Unix socket address, since the admin sockets live in it.
check_socket_path_length() {
  local longest="$RGW_DIR/run/client.rgw.a.asok"
  ((${#longest} <= 107)) ||
    die "RGW_DIR '$RGW_DIR' is too long: '$longest' exceeds the 107-byte Unix socket path limit"
}

cmd_start() {
  validate_settings
  command -v radosgw >/dev/null || die "radosgw is not installed; run '$0 install' first"
  command -v curl >/dev/null || die "curl is not on PATH; it is needed to probe the S3 endpoint"
  check_socket_path_length

  if [[ -f $RGW_DIR/$STATE_MARKER ]]; then
    if all_daemons_alive && endpoint_answers; then
      log "radosgw from $RGW_DIR is already running on port $RGW_PORT"
      ensure_bucket
      print_env ""
      return 0
    fi
    log "found stale state in $RGW_DIR; stopping what is left and starting fresh"
    cmd_stop
  elif [[ -e $RGW_DIR ]]; then
    die "$RGW_DIR exists but was not created by this script; remove it or set RGW_DIR"
  fi

  port_open "$RGW_PORT" && die "port $RGW_PORT on 127.0.0.1 is in use by another process; set RGW_PORT"
  port_open "$RGW_MON_PORT" &&
    die "port $RGW_MON_PORT on 127.0.0.1 is in use by another process; set RGW_MON_PORT"

  mkdir -p "$RGW_DIR"/{mon.a,osd.0,run,log,rgw}
  touch "$RGW_DIR/$STATE_MARKER"

  local fsid
  fsid=$(cat /proc/sys/kernel/random/uuid)
  write_ceph_conf "$fsid"
  create_keyring
  start_mon "$fsid"
  start_osd
  start_rgw
  create_s3_user
  ensure_bucket

  log "running: mon pid $(<"$RGW_DIR/mon.pid"), osd pid $(<"$RGW_DIR/osd.pid"), rgw pid $(<"$RGW_DIR/rgw.pid"); logs in $RGW_DIR/log"
  print_env ""
}

# ---------------------------------------------------------------------------------------------

cmd_env() {
  validate_settings
  print_env "export "
}

usage() {
  sed -n '2,/^$/{s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}

main() {
  case "${1:-}" in
    install) cmd_install ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    env) cmd_env ;;
    -h | --help | help) usage ;;
    *)
      [[ -z ${1:-} ]] || log "error: unknown command '$1'"
      usage >&2
      exit 2
      ;;
  esac
}

main "$@"
