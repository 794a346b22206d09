"""Jinja2 templates only (mail/, pages/); sv and en."""
