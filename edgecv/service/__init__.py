"""Running unattended under systemd: readiness and watchdog notifications, health, bounded shutdown, install."""
