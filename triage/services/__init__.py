"""Use cases: what the service does with a ticket (submit it, triage and assign it, ...).

Each is a function over domain values, the triage pipeline and the ports it needs. Entry points (API, worker,
CLI) call these; they never reach into the engine or the adapters themselves.
"""
