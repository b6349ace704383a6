# Starts and stops a throwaway PostgreSQL cluster for the test run (sourced by scripts/test.sh).
# The cluster lives in a temporary directory, listens only on a Unix socket in that directory and
# on 127.0.0.1 at a free port, and is owned by the unprivileged `postgres` user (PostgreSQL refuses
# to run as root). Exports ROOTKEEPER_TEST_POSTGRES_URL for the store conformance suite.

start_test_postgres() {
  local bindir
  bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$bindir" ]; then
    echo "postgres: no server binaries found; PostgreSQL store tests will fail" >&2
    return 0
  fi
  PG_TMP=$(mktemp -d /tmp/rootkeeper-pg.XXXXXX)
  chown postgres:postgres "$PG_TMP" 2>/dev/null || true
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  local as_pg=()
  [ "$(id -u)" -eq 0 ] && as_pg=(runuser -u postgres --)
  "${as_pg[@]}" "$bindir/initdb" -D "$PG_TMP/data" -U rootkeeper --auth=trust >/dev/null
  "${as_pg[@]}" "$bindir/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $PG_TMP -c fsync=on" start >/dev/null
  "${as_pg[@]}" "$bindir/createdb" -h 127.0.0.1 -p "$port" -U rootkeeper rootkeeper_test
  PG_BINDIR=$bindir
  export ROOTKEEPER_TEST_POSTGRES_URL="postgres://rootkeeper@127.0.0.1:$port/rootkeeper_test"
  echo "postgres: test cluster on 127.0.0.1:$port"
}

stop_test_postgres() {
  [ -n "${PG_TMP:-}" ] || return 0
  local as_pg=()
  [ "$(id -u)" -eq 0 ] && as_pg=(runuser -u postgres --)
  "${as_pg[@]}" "$PG_BINDIR/pg_ctl" -D "$PG_TMP/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$PG_TMP"
}
