"""The disaster-recovery drill: recover into an isolated target, verify, measure RTO/RPO, undo exactly."""
