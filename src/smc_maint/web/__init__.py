"""``smc-maint serve``: the read-only web dashboard, ``/metrics`` and a token-protected run trigger."""
