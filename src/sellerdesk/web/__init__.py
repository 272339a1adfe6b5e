"""The agent workspace: server-rendered pages (Jinja2 + htmx) over the same actions and queries
as the REST API."""
