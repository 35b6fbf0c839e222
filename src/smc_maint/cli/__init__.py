"""The command line: the only place that turns exceptions into exit codes and output formats."""
