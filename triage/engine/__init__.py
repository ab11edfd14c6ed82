"""The triage engine: stages that read a ticket's text, the pipeline that composes them, and its factory.

Each stage is a ``text -> frozen result`` object backed by a trained head (or the knowledge base); the pipeline
runs them all on one shared, memoised encoding and returns a :class:`~triage.engine.results.TriageResult`.
"""
