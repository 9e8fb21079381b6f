"""sevbridge: keeps SaaS platforms' customers' sevDesk accounts in step."""

__version__ = "0.1.0"
USER_AGENT = f"sevbridge/{__version__} (multi-tenant sevDesk integration)"
