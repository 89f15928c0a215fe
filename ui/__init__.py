"""Headroom package."""
