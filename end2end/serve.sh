#!/usr/bin/env bash
# Starts the app for the browser tests: a fresh SQLite database, the test
# users, then the debug server binary built by `cargo leptos build`.
set -euo pipefail
cd "$(dirname "$0")"
port="$1"
root="$(cd .. && pwd)"
bin="$root/target/debug/appcred"
[[ -x "$bin" ]] || { echo "missing $bin: run cargo leptos build first" >&2; exit 1; }

dir="$(mktemp -d /tmp/appcred-e2e.XXXXXX)"
export DATABASE_URL="sqlite://$dir/e2e.db"
export APPCRED_ADMIN_PASSWORD="admin password for e2e"
export APPCRED_BIND="127.0.0.1:$port"
export LEPTOS_SITE_ROOT="$root/target/site"
export LEPTOS_OUTPUT_NAME=appcred
export RUST_LOG="${RUST_LOG:-warn}"

"$bin" migrate >/dev/null
# A user for failure cases, so the admin account is never throttled.
printf '%s\n' "mallory's password 123" | "$bin" user add --username mallory --display-name "Mallory Example" \
  --role service_agent --password-stdin >/dev/null
exec "$bin"
