"""Log retention inside the platform's pods (the host rules live in procedures/log_cleanup.py)."""
