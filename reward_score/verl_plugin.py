"""veRL plugin (entry point group ``verl.plugins``, name ``alphamed``): registers the ``alphamed`` reward manager.

``import verl`` imports every ``verl.plugins`` entry point of the installed packages, in the driver and in every
Ray worker, unless ``VERL_USE_EXTERNAL_PLUGINS`` is ``none`` or a list without ``alphamed``. Registering there
eagerly would import veRL's reward-manager package into every one of those processes: measured on veRL 0.9.1
(benchmarks/plugin_import.py), 1.3-3.5 s and 400+ modules (aiohttp, accelerate, transformers' modelling stack)
on top of ``import verl``, in processes most of which never build a reward manager. So this module only
installs an import hook, and the manager is registered, through veRL's own ``register``, the moment veRL
imports its reward-manager package -- before any ``get_reward_manager_cls`` or ``RewardManagerConfig`` can look
the name up.

Running this module again (the loader in a second ``import verl``, ``importlib.reload``) is harmless: the hook
is replaced rather than stacked, and registering the same class twice is a no-op in veRL's registry.
"""

from __future__ import annotations

import importlib.abc
import logging
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

#: The name ``reward.reward_manager.name`` selects and the entry point's name (what the env variable lists).
MANAGER_NAME = "alphamed"
#: veRL's switch for entry-point plugins: ``auto`` (default), ``none``, or a comma-separated list of names.
PLUGINS_ENV = "VERL_USE_EXTERNAL_PLUGINS"
#: The package whose import fills veRL's reward-manager registry (its ``__init__`` imports every built-in one).
REGISTRY_PACKAGE = "verl.experimental.reward_loop.reward_manager"
#: Our manager's module. It imports veRL's naive manager, hence that package: when it is imported first, the package
#: finishes while the class does not exist yet, so registration also waits for this module to finish.
MANAGER_MODULE = "alphamed.reward_score.verl_manager"
_WATCHED = frozenset({REGISTRY_PACKAGE, MANAGER_MODULE})

logger = logging.getLogger(__name__)


def plugin_enabled(policy: str | None) -> bool:
    """Whether veRL loads this plugin under ``VERL_USE_EXTERNAL_PLUGINS=policy``, parsed as ``verl/__init__.py``
    parses it (unset means ``auto``)."""
    policy = ("auto" if policy is None else policy).strip().lower()
    if policy == "none":
        return False
    return policy == "auto" or MANAGER_NAME in {name.strip() for name in policy.split(",")}


def register_manager() -> type | None:
    """Register :class:`AlphaMedRewardManager` as ``alphamed`` in veRL's registry; return what the name holds, or
    None while our manager module is still being imported (its own completion registers).

    Another package's class under the same name is kept and reported: this runs inside veRL's import of its
    reward-manager package, and raising there would break veRL's reward loop for every manager.
    """
    manager_module = sys.modules.get(MANAGER_MODULE)
    if manager_module is not None and not hasattr(manager_module, "AlphaMedRewardManager"):
        return None
    from verl.experimental.reward_loop.reward_manager.registry import REWARD_MANAGER, register

    from alphamed.reward_score.verl_manager import AlphaMedRewardManager

    existing = REWARD_MANAGER.get(MANAGER_NAME)
    if existing is not None and existing is not AlphaMedRewardManager:
        if _qualified_name(existing) != _qualified_name(AlphaMedRewardManager):
            logger.warning(
                "reward manager %r is already registered by %s; the alphamed plugin leaves it in place",
                MANAGER_NAME,
                _qualified_name(existing),
            )
            return existing
        del REWARD_MANAGER[MANAGER_NAME]  # our module was reloaded: its newer class replaces the old one
    return register(MANAGER_NAME)(AlphaMedRewardManager)


def _register_or_warn() -> None:
    """veRL's import must survive a broken plugin (and veRL's loader logs plugin errors only at DEBUG level), so
    a failure is said once, plainly, instead of raised."""
    try:
        done = register_manager() is not None
    except Exception as exc:
        done = True  # said once; retrying on every later import would only repeat it
        logger.warning("the alphamed veRL plugin could not register reward manager %r: %s", MANAGER_NAME, exc)
    if done:
        _remove_hooks()  # later imports need no detour


def _qualified_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


class _RegisterAfterImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself; hands veRL's reward-manager package (and our manager module) to the normal finders and
    wraps their loaders so registration is tried right after each has run."""

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None) -> Any:
        if fullname not in _WATCHED:
            return None
        for finder in sys.meta_path:
            if finder is self or _is_our_hook(finder) or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _RegisteringLoader(spec.loader)
                return spec
        return None


class _RegisteringLoader(importlib.abc.Loader):
    """The module's own loader, plus a registration attempt once the module has run."""

    def __init__(self, loader: importlib.abc.Loader):
        self._loader = loader

    def create_module(self, spec: Any) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        _register_or_warn()

    def __getattr__(self, name: str) -> Any:  # get_resource_reader, is_package, ... of the wrapped loader
        return getattr(self._loader, name)


def _is_our_hook(finder: object) -> bool:
    """Identified by name, not ``isinstance``: after a reload the class object is a new one."""
    cls = type(finder)
    return cls.__module__ == __name__ and cls.__qualname__ == _RegisterAfterImport.__qualname__


def _remove_hooks() -> None:
    sys.meta_path[:] = [finder for finder in sys.meta_path if not _is_our_hook(finder)]


def install() -> None:
    """Register now if veRL's reward-manager package is already imported, else once veRL imports it."""
    _remove_hooks()
    if REGISTRY_PACKAGE in sys.modules:
        _register_or_warn()
    else:
        sys.meta_path.insert(0, _RegisterAfterImport())


install()
