"""Reading human-edited TOML configuration with errors that name the file, the key and the problem."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from datetime import time, timedelta
from pathlib import Path
from typing import Any

from triage.kernel.errors import ConfigError

_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+)m)?$")


class TomlFile:
    """One TOML file, with helpers that raise ConfigError naming this file and the key."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            with path.open("rb") as fh:
                self.data = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigError(f"{path}: file is missing") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None

    def error(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.path}: key {key!r}: {problem}")

    def get(
        self, table: Mapping[str, Any], key: str, where: str, kind: type | tuple[type, ...], default: Any = ...
    ) -> Any:
        full = f"{where}.{key}" if where else key
        if key not in table:
            if default is ...:
                raise self.error(full, "is required")
            return default
        value = table[key]
        if not isinstance(value, kind) or (isinstance(value, bool) and kind in (int, float, (int, float))):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise self.error(full, f"must be {names}, got {type(value).__name__} {value!r}")
        return value

    def no_unknown(self, table: Mapping[str, Any], allowed: set[str], where: str) -> None:
        for key in table:
            if key not in allowed:
                raise self.error(
                    f"{where}.{key}" if where else key, f"unknown key; allowed: {', '.join(sorted(allowed))}"
                )

    def duration(self, table: Mapping[str, Any], key: str, where: str, default: Any = ...) -> timedelta:
        raw = self.get(table, key, where, str, default)
        if isinstance(raw, timedelta):
            return raw
        match = _DURATION.match(raw.strip())
        if not raw.strip() or not match or not any(match.groups()):
            raise self.error(f"{where}.{key}", f"{raw!r} is not a duration like '30m', '4h' or '1h30m'")
        return timedelta(hours=float(match.group(1) or 0), minutes=int(match.group(2) or 0))

    def clock(self, raw: str, key: str) -> time | None:
        if raw == "24:00":
            return None
        try:
            return time.fromisoformat(raw)
        except ValueError:
            raise self.error(key, f"{raw!r} is not a time HH:MM") from None
