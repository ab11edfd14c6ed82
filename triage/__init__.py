"""Intelligent ticket triage: bilingual (EN/ZH) triage, knowledge-base suggestions, routing and SLA."""

from __future__ import annotations

__version__ = "0.1.0"
