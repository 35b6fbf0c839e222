"""Kubernetes deployment of smc-maint: CronJobs per group plus least-privilege RBAC."""
