"""Outdated and vulnerable dependencies: tool reports (pip, npm, cargo) and container image tags."""
