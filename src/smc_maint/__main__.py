"""``python -m smc_maint`` is the same as ``smc-maint``."""

from .cli.main import main

main()
