"""MLflow model registry access for serving: resolve ``models:/`` URIs to local artifact folders."""

from __future__ import annotations

import re
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from triage.kernel.errors import ModelNotReady

_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[\w-]+)|/(?P<version>\d+))$")


def parse_model_uri(uri: str) -> tuple[str, str | None, str | None]:
    """Split ``models:/name@alias`` or ``models:/name/3`` into (name, alias, version).

    Raises:
        ModelNotReady: the URI has another shape.
    """
    match = _URI.match(uri)
    if not match:
        raise ModelNotReady(f"bad model URI {uri!r}; use models:/<name>@<alias> or models:/<name>/<version>")
    return match["name"], match["alias"], match["version"]


def pin_model_uri(uri: str, *, tracking_uri: str | None) -> str:
    """``models:/name@alias`` as the version it points to now (``models:/name/7``); other URIs unchanged.

    A long batch run pins its models first, so every worker loads the same version even if the alias moves.

    Raises:
        ModelNotReady: unknown model or alias, or an unreachable store.
    """
    if not uri.startswith("models:/"):
        return uri
    name, alias, _ = parse_model_uri(uri)
    if alias is None:
        return uri
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    try:
        return f"models:/{name}/{client.get_model_version_by_alias(name, alias).version}"
    except MlflowException as exc:
        raise ModelNotReady(f"{uri} is not in the registry at {tracking_uri}: {exc.message}. "
                            "Train one with `triage train` (or run the README's first command).") from exc  # fmt: skip


def download_registered_model(uri: str, *, tracking_uri: str | None, cache_dir: Path | None = None) -> tuple[Path, str]:
    """Resolve a registry URI and download the artifact folder.

    Returns:
        The local folder and the version label ``<name>/<version>``.

    Raises:
        ModelNotReady: unknown model, alias or version, or an unreachable store.
    """
    name, alias, version = parse_model_uri(uri)
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    try:
        model_version = (
            client.get_model_version_by_alias(name, alias) if alias else client.get_model_version(name, version)
        )
    except MlflowException as exc:
        raise ModelNotReady(
            f"{uri} is not in the registry at {tracking_uri}: {exc.message}. "
            "Train one with `triage train` (or run the README's first command)."
        ) from exc
    target = None
    if cache_dir is not None:
        target = Path(cache_dir) / name / str(model_version.version)
        if (target / "model" / "meta.json").exists():
            return target / "model", f"{name}/{model_version.version}"
        target.mkdir(parents=True, exist_ok=True)
    local = mlflow.artifacts.download_artifacts(
        artifact_uri=model_version.source, dst_path=str(target) if target else None, tracking_uri=tracking_uri
    )
    return Path(local), f"{name}/{model_version.version}"


def registered_version(uri: str, *, tracking_uri: str | None) -> str:
    """The ``<name>/<version>`` a registry URI points at now, without downloading anything (cheap to poll).

    Raises:
        ModelNotReady: unknown model or alias, or an unreachable store.
    """
    name, alias, version = parse_model_uri(uri)
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    try:
        found = client.get_model_version_by_alias(name, alias) if alias else client.get_model_version(name, version)
    except MlflowException as exc:
        raise ModelNotReady(f"{uri} is not in the registry at {tracking_uri}: {exc.message}") from exc
    return f"{name}/{found.version}"
