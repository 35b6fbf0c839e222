"""Reporting over the run history: Prometheus metrics, Grafana dashboard, monthly report."""
