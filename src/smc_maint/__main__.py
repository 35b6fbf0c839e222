"""``python -m smc_maint`` is the same as ``smc-maint``."""

from .cli.main import main

if __name__ == "__main__":  # not when a worker process re-imports the main module
    main()
