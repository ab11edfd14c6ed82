"""The ground floor: errors, language detection, the shared ticket vocabulary and ids.

Everything else may import the kernel; the kernel imports only the standard library. It is the only part of
``triage`` that ``models`` and ``kb_index`` may import (``lint-imports`` enforces both rules).
"""
