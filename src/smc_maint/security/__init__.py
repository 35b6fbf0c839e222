"""Readers for security scan reports (trivy-operator, Trivy CLI)."""
