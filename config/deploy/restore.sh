#!/usr/bin/env bash
# Restore a backup.sh dump into a NEW database (never over a live one), in one transaction.
#   config/deploy/restore.sh DUMP_FILE TARGET_DATABASE_URL
# e.g. restore.sh /var/backups/kazuo-pavilion/kazuo-20261201T031500Z.dump postgres://kazuo:pw@db:5432/kazuo_restored
# The target database is created (it must not exist; the URL's user needs CREATEDB). Then check the copy:
#   KAZUO_DATABASE_URL=<target> python -m server check       # migrations all applied
#   KAZUO_DATABASE_URL=<target> python -m server reconcile   # every paid order's ledger entries add up
# and switch KAZUO_DATABASE_URL to it (or rename the databases) while the services are stopped.
set -euo pipefail
DUMP="${1:?usage: restore.sh DUMP_FILE TARGET_DATABASE_URL}"
TARGET="${2:?usage: restore.sh DUMP_FILE TARGET_DATABASE_URL}"
TARGET="${TARGET%%\?*}"
NAME="${TARGET##*/}"
SERVER="${TARGET%/*}/postgres"
if ! [[ "$NAME" =~ ^[A-Za-z0-9_]+$ ]]; then
  echo "restore.sh: the target database name must be letters, digits and _ (got '$NAME')" >&2
  exit 2
fi
pg_restore --list "$DUMP" >/dev/null
psql "$SERVER" -v ON_ERROR_STOP=1 -q -c "CREATE DATABASE \"$NAME\""
pg_restore --no-owner --no-privileges --exit-on-error --single-transaction --dbname="$TARGET" "$DUMP"
echo "restored $DUMP into $NAME"
