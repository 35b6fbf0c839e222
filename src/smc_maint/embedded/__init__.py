"""The tool's own PostgreSQL servers: the demo database, scratch restore targets, test servers."""
