"""Adapters: the outside world behind the ports (SQL stores, configuration files)."""
