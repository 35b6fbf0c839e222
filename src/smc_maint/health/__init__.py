"""Pieces of the ``health`` procedure: HTTP endpoint probes and the diagnostic report."""
