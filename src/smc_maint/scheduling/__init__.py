"""Scheduling: slots per group (cron + time zone), catch-up, missed-run detection, the daemon.

Everything that decides is a pure function over datetimes and history rows; the daemon, the
systemd units and the Kubernetes CronJobs all key runs by the same UTC slot.
"""
