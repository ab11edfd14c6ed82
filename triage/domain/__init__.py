"""The pure help-desk domain: tickets and their lifecycle, agents and teams, the category taxonomy, routing,
business calendars, SLA clocks and escalation.

Standard library only (plus the kernel): no framework, database or model import. ``lint-imports`` enforces it.
"""
