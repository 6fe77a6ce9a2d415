"""Where a model (or tokenizer) comes from: a local checkpoint folder or a Hugging Face hub id, checked in seconds.

Left to itself the hub client retries an unreachable hub for about a minute, and it reports a mistyped local
path as a malformed repo id; both fail here first, saying what to do instead.
"""

from __future__ import annotations

import socket
from pathlib import Path
from urllib.parse import urlsplit

#: Seconds to wait for the hub to accept a connection before calling it unreachable.
HUB_PROBE_TIMEOUT_S = 5.0


def resolve_model(model: str) -> str:
    """A local checkpoint as an absolute path (a run's identity must not depend on the working dir), else a hub
    id that is cached or whose hub answers; anything else is one ``ValueError`` naming ``model``."""
    if not model:
        raise ValueError("a model (local path or hub id) is required")
    path = Path(model).expanduser()
    if path.exists():
        return str(path.resolve())
    if model.startswith(("/", ".", "~")) or model.count("/") > 1 or "\\" in model:
        raise ValueError(f"{model}: no such model folder (a local path that does not exist)")
    from huggingface_hub import constants, try_to_load_from_cache
    from huggingface_hub.errors import HFValidationError

    try:
        cached = isinstance(try_to_load_from_cache(model, "config.json"), str)
    except HFValidationError as err:
        raise ValueError(f"{model}: no such model folder, and not a hub id ({err})") from err
    if cached:
        return model
    advice = f"download it first (`hf download {model}`) or pass a local checkpoint folder"
    if constants.HF_HUB_OFFLINE:
        raise ValueError(
            f"{model}: no such model folder, and not in the Hugging Face cache (HF_HUB_OFFLINE is set); {advice}"
        )
    reason = _unreachable(constants.ENDPOINT)
    if reason:
        raise ValueError(
            f"{model}: no such model folder, not in the Hugging Face cache, and {constants.ENDPOINT} cannot be "
            f"reached ({reason}); {advice}"
        )
    return model


def _unreachable(endpoint: str) -> str | None:
    """Why a TCP connection to ``endpoint`` fails (DNS, refused, timeout), or None when it connects."""
    url = urlsplit(endpoint)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((url.hostname or "", port), timeout=HUB_PROBE_TIMEOUT_S).close()
    except OSError as err:
        return str(err) or type(err).__name__
    return None
