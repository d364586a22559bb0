"""gunicorn settings: no access log, because its lines would carry IP
addresses, user agents and query strings (DESIGN.md, security model)."""

accesslog = None
errorlog = "-"
loglevel = "info"
# A request never takes long; a stuck worker is recycled.
timeout = 30
graceful_timeout = 10
forwarded_allow_ips = "127.0.0.1"
