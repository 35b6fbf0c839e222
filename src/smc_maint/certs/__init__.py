"""Certificate expiry from live TLS endpoints, PEM files and cert-manager Certificate objects."""
