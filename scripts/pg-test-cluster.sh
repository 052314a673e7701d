#!/usr/bin/env bash
# pg-test-cluster.sh: a throwaway PostgreSQL cluster for roam's tests.
#
#   pg-test-cluster.sh start DIR [--owner-pid PID]
#       initdb a cluster in DIR (created if missing; must be empty), start it on
#       127.0.0.1 on a free port with its unix socket in DIR, trust auth, and
#       print its DSN on stdout. With --owner-pid, a watcher stops and removes
#       the cluster once PID has exited, however it exited.
#   pg-test-cluster.sh stop DIR
#       stop the cluster in DIR (if running) and remove DIR. Idempotent; refuses
#       to remove a directory this script did not create.
#   pg-test-cluster.sh run CMD [ARGS...]
#       start a cluster in a temp dir, run CMD with ROAM_TEST_POSTGRES set to its
#       DSN, then stop and remove it whatever CMD's outcome (and on INT/TERM);
#       exits with CMD's status. Without PostgreSQL binaries it warns and runs
#       CMD without ROAM_TEST_POSTGRES (the PostgreSQL tests then skip).
#
# Binaries: $PG_BIN, else the newest /usr/lib/postgresql/*/bin, else PATH.
# As root, the cluster runs as the `postgres` system user (initdb refuses root).
# The cluster trades durability for speed (fsync off): it is for tests only.
set -euo pipefail

marker=.roam-pg-test-cluster

die() { echo "pg-test-cluster: $*" >&2; exit 1; }

find_bin() {
	if [ -n "${PG_BIN:-}" ]; then
		[ -x "$PG_BIN/initdb" ] && { echo "$PG_BIN"; return 0; }
		return 1
	fi
	local d
	d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
	if [ -n "$d" ] && [ -x "$d/initdb" ]; then echo "$d"; return 0; fi
	if command -v initdb >/dev/null 2>&1; then dirname "$(command -v initdb)"; return 0; fi
	return 1
}

# as_owner runs a command as the cluster's owner: postgres when we are root.
as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

cmd_start() {
	local dir=${1:-} owner=""
	[ -n "$dir" ] || die "usage: start DIR [--owner-pid PID]"
	shift
	while [ $# -gt 0 ]; do
		case $1 in
		--owner-pid) owner=${2:?--owner-pid needs a PID}; shift 2 ;;
		*) die "start: unknown argument $1" ;;
		esac
	done
	local bin
	bin=$(find_bin) || die "no PostgreSQL binaries (set PG_BIN or install postgresql)"
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	[ -z "$(ls -A "$dir")" ] || die "start: $dir is not empty"
	touch "$dir/$marker"
	chmod 700 "$dir"
	if [ "$(id -u)" -eq 0 ]; then
		id postgres >/dev/null 2>&1 || die "running as root and there is no postgres user"
		chown postgres "$dir"
	fi
	if ! as_owner "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C --no-sync \
		>"$dir/initdb.log" 2>&1; then
		cat "$dir/initdb.log" >&2
		cmd_stop "$dir"
		die "initdb failed"
	fi
	# Try a few random ports: another process may take the one we picked.
	local port="" try
	for try in 1 2 3 4 5 6 7 8; do
		local p=$((20000 + RANDOM % 40000))
		port_free "$p" || continue
		if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 30 start -o \
			"-p $p -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
			>/dev/null 2>&1; then
			port=$p
			break
		fi
	done
	if [ -z "$port" ]; then
		tail -n 20 "$dir/log" >&2 2>/dev/null || true
		cmd_stop "$dir"
		die "could not start postgres"
	fi
	if [ -n "$owner" ]; then
		# The watcher outlives this script, detached from its stdout so that
		# $(…) callers do not wait for it.
		setsid bash "$0" watch "$dir" "$owner" </dev/null >/dev/null 2>&1 &
	fi
	echo "postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
}

cmd_watch() {
	local dir=$1 owner=$2
	while kill -0 "$owner" 2>/dev/null && [ -d "$dir" ]; do
		sleep 1
	done
	[ -d "$dir" ] && cmd_stop "$dir"
	return 0
}

cmd_stop() {
	local dir=${1:-}
	[ -n "$dir" ] || die "usage: stop DIR"
	[ -d "$dir" ] || return 0
	[ -e "$dir/$marker" ] || die "stop: $dir was not made by this script; not removing it"
	if [ -f "$dir/data/postmaster.pid" ]; then
		local bin
		if bin=$(find_bin); then
			as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
		fi
		# If pg_ctl could not stop it, end the postmaster by its pid.
		local pid
		pid=$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null || true)
		if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
			kill -QUIT "$pid" 2>/dev/null || true
			sleep 1
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	rm -rf "$dir"
}

cmd_run() {
	[ $# -gt 0 ] || die "usage: run CMD [ARGS...]"
	if ! find_bin >/dev/null; then
		echo "pg-test-cluster: no PostgreSQL binaries; running without ROAM_TEST_POSTGRES" >&2
		"$@"
		return
	fi
	local dir
	dir=$(mktemp -d "${TMPDIR:-/tmp}/roam-pg.XXXXXX")
	rmdir "$dir"
	local child=""
	# On INT/TERM, end CMD first (it would fail against a stopped cluster),
	# then the EXIT trap removes the cluster.
	# shellcheck disable=SC2064
	trap "cmd_stop '$dir'" EXIT
	trap '[ -n "$child" ] && kill -TERM "$child" 2>/dev/null; wait; exit 130' INT
	trap '[ -n "$child" ] && kill -TERM "$child" 2>/dev/null; wait; exit 143' TERM
	ROAM_TEST_POSTGRES=$(cmd_start "$dir" --owner-pid $$)
	export ROAM_TEST_POSTGRES
	echo "pg-test-cluster: PostgreSQL for the tests at ${ROAM_TEST_POSTGRES}" >&2
	# CMD runs in the background so that a signal reaches the traps at once
	# instead of after CMD ends.
	"$@" &
	child=$!
	local rc=0
	wait "$child" || rc=$?
	child=""
	return $rc
}

case ${1:-} in
start) shift; cmd_start "$@" ;;
stop) shift; cmd_stop "$@" ;;
watch) shift; cmd_watch "$@" ;;
run) shift; cmd_run "$@" ;;
*) die "usage: $0 start DIR [--owner-pid PID] | stop DIR | run CMD [ARGS...]" ;;
esac
