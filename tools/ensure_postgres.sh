#!/usr/bin/env bash
# PostgreSQL server binaries for the team tracking-server tests (tests/serving/
# test_tracking_server.py starts a throwaway cluster of its own; nothing here starts a server).
# Idempotent and quiet: does nothing when initdb is already there; else, as root on Debian,
# installs the distribution's `postgresql` package. When that is impossible it says so and exits
# 0: those tests are then skipped with the reason, the rest of the suite runs.
set -uo pipefail

have_postgres() {
  command -v initdb >/dev/null 2>&1 && return 0
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null
}

if have_postgres; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure_postgres: PostgreSQL is absent and cannot be installed here (needs root and" \
       "apt-get): the team tracking-server tests will be skipped" >&2
  exit 0
fi
echo "ensure_postgres: installing PostgreSQL (apt-get install postgresql) for the team" \
     "tracking-server tests" >&2
export DEBIAN_FRONTEND=noninteractive
if apt-get update -qq >/dev/null 2>&1 \
   && apt-get install -y -qq --no-install-recommends postgresql >/dev/null 2>&1 \
   && have_postgres; then
  exit 0
fi
echo "ensure_postgres: apt-get install postgresql failed: the team tracking-server tests will" \
     "be skipped" >&2
exit 0
