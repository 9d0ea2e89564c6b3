#!/usr/bin/env bash
# A local QuestDB for Pinwheel's development and tests.
#
#   scripts/questdb.sh start  [--dir DIR] [--http-port 9000] [--pg-port 8812] [--ilp-port 9009]
#                             [--watch-pid PID] [--wait-seconds 60]
#   scripts/questdb.sh stop   [--dir DIR]
#   scripts/questdb.sh status [--dir DIR] [--http-port 9000]
#   scripts/questdb.sh fetch  (only download the jar)
#
# The server jar (org.questdb:questdb, the 9.3.x line, which runs on Java 17) is fetched from
# Maven Central with mvn into .questdb/jars/ under the repository, once. The server listens on
# loopback only, telemetry off. DIR (default .questdb/data) holds the database, the log
# (DIR/questdb.log) and the pid file (DIR/questdb.pid).
#
# --watch-pid PID: stop the server when process PID is gone (tests pass their own pid, so a
# test binary that dies never leaves a QuestDB behind).
#
# Environment: QUESTDB_VERSION (default 9.3.4), QUESTDB_JAVA_OPTS (default -Xms64m -Xmx1g),
# JAVA (default java). Exit codes: 0 ok, 1 usage, 2 fetch failed, 3 start failed, 4 not running.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache_dir="${repo_root}/.questdb"
version="${QUESTDB_VERSION:-9.3.4}"
java_bin="${JAVA:-java}"
java_opts="${QUESTDB_JAVA_OPTS:--Xms64m -Xmx1g -XX:+UseParallelGC}"

command="${1:-}"
[[ -n "${command}" ]] && shift
data_dir="${cache_dir}/data"
http_port=9000
pg_port=8812
ilp_port=9009
watch_pid=""
wait_seconds=60
stop_wait_seconds=20

usage() {
    sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 1
}

while [[ $# -gt 0 ]]; do
    case "$1" in
        --dir) data_dir="$2"; shift 2 ;;
        --http-port) http_port="$2"; http_port_given=yes; shift 2 ;;
        --pg-port) pg_port="$2"; shift 2 ;;
        --ilp-port) ilp_port="$2"; shift 2 ;;
        --watch-pid) watch_pid="$2"; shift 2 ;;
        --wait-seconds) wait_seconds="$2"; shift 2 ;;
        *) echo "questdb.sh: unknown argument: $1" >&2; usage ;;
    esac
done

mkdir -p "${data_dir}"
data_dir="$(cd "${data_dir}" && pwd)"
pid_file="${data_dir}/questdb.pid"
port_file="${data_dir}/questdb.http-port"
# status/stop without --http-port use the port the server was started with.
if [[ "${command}" != "start" && "${http_port_given:-no}" == "no" && -f "${port_file}" ]]; then
    http_port="$(cat "${port_file}")"
fi
log_file="${data_dir}/questdb.log"
jar="${cache_dir}/jars/questdb-${version}.jar"

log() { echo "questdb.sh: $*" >&2; }

fetch_jar() {
    [[ -s "${jar}" ]] && return 0
    mkdir -p "${cache_dir}/jars"
    # Everything under .questdb/ is local state, never committed.
    [[ -f "${cache_dir}/.gitignore" ]] || echo '*' > "${cache_dir}/.gitignore"
    log "fetching org.questdb:questdb:${version} from Maven Central"
    if ! (cd "${cache_dir}" && mvn -B -q dependency:copy \
        -Dartifact="org.questdb:questdb:${version}" \
        -DoutputDirectory="${cache_dir}/jars" >&2); then
        log "mvn could not fetch org.questdb:questdb:${version}"
        exit 2
    fi
    [[ -s "${jar}" ]] || { log "mvn finished but ${jar} is missing"; exit 2; }
}

running_pid() {
    [[ -f "${pid_file}" ]] || return 1
    local pid
    pid="$(cat "${pid_file}")"
    [[ -n "${pid}" ]] && kill -0 "${pid}" 2>/dev/null || return 1
    # The pid must still be our java process, not a recycled pid.
    grep -q "io.questdb" "/proc/${pid}/cmdline" 2>/dev/null || return 1
    echo "${pid}"
}

ping() {
    curl -fsS -m 2 "http://127.0.0.1:${http_port}/ping" >/dev/null 2>&1
}

start() {
    if pid="$(running_pid)"; then
        log "already running (pid ${pid}, dir ${data_dir})"
        return 0
    fi
    fetch_jar
    log "starting QuestDB ${version}: http 127.0.0.1:${http_port}, pg ${pg_port}, ilp ${ilp_port}, dir ${data_dir}"
    # setsid: the server gets its own session, so a terminal's signals do not reach it.
    QDB_HTTP_BIND_TO="127.0.0.1:${http_port}" \
    QDB_PG_NET_BIND_TO="127.0.0.1:${pg_port}" \
    QDB_LINE_TCP_NET_BIND_TO="127.0.0.1:${ilp_port}" \
    QDB_LINE_UDP_ENABLED=false \
    QDB_HTTP_MIN_ENABLED=false \
    QDB_TELEMETRY_ENABLED=false \
    QDB_METRICS_ENABLED=false \
        setsid "${java_bin}" ${java_opts} \
        -p "${jar}" -m io.questdb/io.questdb.ServerMain -d "${data_dir}" \
        >"${log_file}" 2>&1 </dev/null &
    local pid=$!
    echo "${pid}" >"${pid_file}"
    echo "${http_port}" >"${port_file}"
    local deadline=$((SECONDS + wait_seconds))
    until ping; do
        if ! kill -0 "${pid}" 2>/dev/null; then
            log "QuestDB exited during start-up; last lines of ${log_file}:"
            tail -n 20 "${log_file}" >&2
            rm -f "${pid_file}"
            exit 3
        fi
        if ((SECONDS >= deadline)); then
            log "QuestDB did not answer /ping within ${wait_seconds}s; stopping it"
            stop_pid "${pid}"
            exit 3
        fi
        sleep 0.2
    done
    log "up (pid ${pid})"
    if [[ -n "${watch_pid}" ]]; then
        start_watcher "${pid}"
    fi
}

# Stops the server when the watched process is gone; ends by itself when the server does.
start_watcher() {
    local server_pid="$1"
    (
        while kill -0 "${watch_pid}" 2>/dev/null && kill -0 "${server_pid}" 2>/dev/null; do
            sleep 1
        done
        if kill -0 "${server_pid}" 2>/dev/null; then
            stop_pid "${server_pid}"
        fi
    ) </dev/null >/dev/null 2>&1 &
    disown
}

stop_pid() {
    local pid="$1"
    kill -TERM "${pid}" 2>/dev/null || true
    local deadline=$((SECONDS + stop_wait_seconds))
    while kill -0 "${pid}" 2>/dev/null; do
        if ((SECONDS >= deadline)); then
            log "QuestDB (pid ${pid}) ignored SIGTERM for ${stop_wait_seconds}s; sending SIGKILL"
            kill -KILL "${pid}" 2>/dev/null || true
            break
        fi
        sleep 0.2
    done
    rm -f "${pid_file}"
}

stop() {
    if pid="$(running_pid)"; then
        log "stopping QuestDB (pid ${pid})"
        stop_pid "${pid}"
        log "stopped"
    else
        rm -f "${pid_file}"
        log "not running (dir ${data_dir})"
    fi
}

status() {
    if pid="$(running_pid)"; then
        if ping; then
            echo "running pid ${pid} http://127.0.0.1:${http_port} dir ${data_dir}"
        else
            echo "started pid ${pid} but not answering on http://127.0.0.1:${http_port}"
        fi
        return 0
    fi
    echo "not running (dir ${data_dir})"
    exit 4
}

case "${command}" in
    fetch) fetch_jar ;;
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) usage ;;
esac
