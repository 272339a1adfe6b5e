#!/usr/bin/env bash
# A throw-away PostgreSQL 15 server for the test suite.
#   scripts/pg.sh start   initdb a fresh cluster and start it on 127.0.0.1 (idempotent)
#   scripts/pg.sh url     print the SQLAlchemy URL of the running server
#   scripts/pg.sh stop    stop it and delete its data (fine when not running)
# Exit 3 means "PostgreSQL 15 is not available here" (binaries missing, not root).
set -euo pipefail
cd "$(dirname "$0")/.."

PGBIN=/usr/lib/postgresql/15/bin
DB=sellerdesk_test
FIRST_PORT=54329
LAST_PORT=54399

say() { echo "pg: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

is_root() { [[ $EUID -eq 0 ]]; }

# Everything lives in one folder per user; the port file says where it listens.
BASE="${TMPDIR:-/tmp}/sellerdesk-pg-$UID"
# As root the server runs as `postgres`, which must be able to reach the folder;
# a private TMPDIR (e.g. under /root) would not do, so fall back to /tmp.
if is_root && [[ "$BASE" != /tmp/* ]]; then
    BASE="/tmp/sellerdesk-pg-$UID"
fi
DATA="$BASE/data"
PORT_FILE="$BASE/port"
LOG="$BASE/server.log"

# PostgreSQL refuses to run as root: use the `postgres` system user then,
# from / so that a repository folder it cannot read does not matter.
as_pg() {
    if is_root; then
        if command -v runuser >/dev/null 2>&1; then
            (cd / && runuser -u postgres -- "$@")
        else
            (cd / && su postgres -s /bin/bash -c "$(printf '%q ' "$@")")
        fi
    else
        "$@"
    fi
}

ensure_binaries() {
    [[ -x "$PGBIN/pg_ctl" && -x "$PGBIN/initdb" ]] && return 0
    if ! is_root; then
        say "PostgreSQL 15 is not installed ($PGBIN/pg_ctl missing) and we are not root."
        say "Install it with: sudo apt-get install postgresql-15"
        exit 3
    fi
    command -v apt-get >/dev/null 2>&1 || { say "no $PGBIN and no apt-get to install it"; exit 3; }
    say "installing postgresql-15 from Debian (one time)..."
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq postgresql-15 >/dev/null
    # The package also creates and may start its own cluster `15/main` on 5432.
    # We never use it; our server is separate, on its own port and data folder.
    [[ -x "$PGBIN/pg_ctl" ]] || { say "postgresql-15 installed but $PGBIN/pg_ctl is missing"; exit 3; }
}

running() {
    [[ -f "$PORT_FILE" && -f "$DATA/PG_VERSION" ]] &&
        as_pg "$PGBIN/pg_ctl" status -D "$DATA" >/dev/null 2>&1
}

# True when something already accepts connections on 127.0.0.1:$1.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
    local port
    for ((port = FIRST_PORT; port <= LAST_PORT; port++)); do
        if ! port_busy "$port"; then
            echo "$port"
            return 0
        fi
    done
    return 1
}

start() {
    ensure_binaries
    if is_root && ! id postgres >/dev/null 2>&1; then
        say "user 'postgres' does not exist (normally created by Debian's postgresql package)"
        exit 3
    fi
    if running; then
        say "already running on port $(cat "$PORT_FILE")"
        return 0
    fi
    # A fresh cluster every start: tests never see a previous run's data.
    stop_quietly
    mkdir -p "$BASE"
    chmod 700 "$BASE"
    if is_root; then
        chown postgres: "$BASE"
    fi

    local port
    port="$(free_port)" || die "no free port in $FIRST_PORT-$LAST_PORT"

    # -N: skip fsync during initdb; trust auth: local throw-away server only.
    as_pg "$PGBIN/initdb" -D "$DATA" -U postgres --auth=trust -N -E UTF8 --locale=C.UTF-8 \
        >"$BASE/initdb.log" 2>&1 || { cat "$BASE/initdb.log" >&2; die "initdb failed"; }

    # Durability is worthless for a test database; speed is not.
    # No unix socket: nothing else's socket folder is needed, and TCP is what the tests use.
    as_pg tee -a "$DATA/postgresql.conf" >/dev/null <<EOF

# --- sellerdesk test server ---
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = ''
fsync = off
synchronous_commit = off
full_page_writes = off
EOF

    if ! as_pg "$PGBIN/pg_ctl" start -D "$DATA" -l "$LOG" -w -t 60 >/dev/null; then
        cat "$LOG" >&2 || true
        die "server did not start (log above)"
    fi
    as_pg "$PGBIN/createdb" -h 127.0.0.1 -p "$port" -U postgres "$DB" ||
        die "createdb $DB failed"
    echo "$port" >"$PORT_FILE"
    say "PostgreSQL 15 running on 127.0.0.1:$port (data in $DATA)"
}

# Stop a server if there is one and delete its folder; never fails.
stop_quietly() {
    if [[ -f "$DATA/PG_VERSION" && -x "$PGBIN/pg_ctl" ]]; then
        as_pg "$PGBIN/pg_ctl" stop -D "$DATA" -m immediate -w >/dev/null 2>&1 || true
    fi
    rm -rf "$BASE"
}

stop() {
    if running; then
        stop_quietly
        say "stopped"
    else
        stop_quietly
    fi
}

url() {
    running || die "not running (run: bash scripts/pg.sh start)"
    echo "postgresql+asyncpg://postgres@127.0.0.1:$(cat "$PORT_FILE")/$DB"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    url) url ;;
    *)
        echo "usage: $0 start|stop|url" >&2
        exit 2
        ;;
esac
