"""Triage stages: each is a plain ``text -> frozen result`` callable."""
