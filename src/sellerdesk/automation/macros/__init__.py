"""Macros: template replies with variables, one variant per language, and optional actions."""
