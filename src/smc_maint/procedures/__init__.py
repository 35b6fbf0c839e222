"""One module per runbook procedure: ``Settings`` and ``run(ctx, settings) -> Result``.

Each gathers facts through adapters, then decides with pure functions over those facts.
"""
