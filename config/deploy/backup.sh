#!/usr/bin/env bash
# PostgreSQL backup of the Kazuo Pavilion database: one pg_dump custom-format file (compressed, restorable
# table by table), checked readable before it is kept, older ones pruned.
#   config/deploy/backup.sh [DATABASE_URL] [DIR]
# DATABASE_URL defaults to $KAZUO_DATABASE_URL, DIR to $KAZUO_BACKUP_DIR or /var/backups/kazuo-pavilion;
# dumps older than $KAZUO_BACKUP_KEEP_DAYS (14) days are deleted. Prints the new file's path.
# Run it from cron or a systemd timer as a user that can read the database, e.g. daily:
#   15 3 * * *  kazuo  . /etc/kazuo-pavilion/production.env && /opt/kazuo-pavilion/config/deploy/backup.sh
# pg_dump takes a consistent snapshot while the server keeps running. Copy the files off the host.
set -euo pipefail
URL="${1:-${KAZUO_DATABASE_URL:?pass a database URL or set KAZUO_DATABASE_URL}}"
URL="${URL%%\?*}"   # ?minsize=&maxsize= are the server's pool options, not libpq's
DIR="${2:-${KAZUO_BACKUP_DIR:-/var/backups/kazuo-pavilion}}"
KEEP_DAYS="${KAZUO_BACKUP_KEEP_DAYS:-14}"

umask 077
mkdir -p "$DIR"
file="$DIR/kazuo-$(date -u +%Y%m%dT%H%M%SZ).dump"
pg_dump --format=custom --compress=6 --no-owner --no-privileges --file="$file.partial" "$URL"
pg_restore --list "$file.partial" >/dev/null   # a dump that cannot be listed is not a backup
mv "$file.partial" "$file"
find "$DIR" -maxdepth 1 -name 'kazuo-*.dump' -mtime +"$KEEP_DAYS" -delete
echo "$file"
