#!/bin/sh
# A scheduled job in a container of its own, run the way supercronic or a sidecar runs one: every
# two seconds it sweeps its spool directory, logs what it did, and rotates its logs with logrotate
# (a copy then a truncate of the log it keeps open, a rename and a new file for the other).
set -eu
mkdir -p /var/log/job /var/spool/job /var/lib/logrotate
while true; do
    date -u +%FT%TZ >"/var/spool/job/$(date +%s).task"
    count=$(find /var/spool/job -name '*.task' | wc -l)
    echo "$(date -u +%FT%TZ) swept $count tasks" >>/var/log/job/job.log
    echo "$(date -u +%FT%TZ) $count" >>/var/log/job/summary.log
    find /var/spool/job -name '*.task' -mmin +1 -delete
    logrotate --state /var/lib/logrotate/job.status /etc/logrotate.d/job
    sleep 2
done
