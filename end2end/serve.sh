#!/usr/bin/env bash
# Starts the app for the browser tests: a fresh SQLite database, the test
# users, then the debug server binary built by `cargo leptos build`.
set -euo pipefail
cd "$(dirname "$0")"
port="$1"
root="$(cd .. && pwd)"
bin="$root/target/debug/appcred"
[[ -x "$bin" ]] || { echo "missing $bin: run cargo leptos build first" >&2; exit 1; }

dir="${E2E_DATA_DIR:-$(mktemp -d /tmp/appcred-e2e.XXXXXX)}"
rm -f "$dir"/e2e.db*
export DATABASE_URL="sqlite://$dir/e2e.db"
export APPCRED_ADMIN_PASSWORD="orchid tunnel 2026 e2e"
export APPCRED_BIND="127.0.0.1:$port"
export LEPTOS_SITE_ROOT="$root/target/site"
export LEPTOS_OUTPUT_NAME=appcred
export RUST_LOG="${RUST_LOG:-warn}"

"$bin" migrate >/dev/null
# The first start would create admin itself, but only on an empty database.
printf '%s\n' "$APPCRED_ADMIN_PASSWORD" | "$bin" user add --username admin --display-name "Administrator" \
  $(for r in service_agent self_service_user work_creator work_assigner team_leader user_manager \
      master_builder release_manager auditor administrator; do printf -- '--role %s ' "$r"; done) \
  --password-stdin >/dev/null
# A user for failure cases, so the admin account is never throttled.
printf '%s\n' "blue lantern ocean 5" | "$bin" user add --username mallory --display-name "Mallory Example" \
  --role service_agent --password-stdin >/dev/null
printf '%s\n' "staple battery horse 42" | "$bin" user add --username rita --display-name "Rita Revoke" \
  --role work_creator --role team_leader --password-stdin >/dev/null
printf '%s\n' "quiet river stone 77" | "$bin" user add --username nora --display-name "Nora Nojs" \
  --role work_creator --role team_leader --password-stdin >/dev/null
printf '%s\n' "maple harbor 314 tide" | "$bin" user add --username lena --display-name "Lena Longlist" \
  --role work_creator --password-stdin >/dev/null
printf '%s\n' "copper kettle 808 lane" | "$bin" user add --username otto --display-name "Otto Observed" \
  --role work_creator --password-stdin >/dev/null
exec "$bin"
