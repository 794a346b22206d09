"""Starlette portal, JSON API and webhook mounts."""
