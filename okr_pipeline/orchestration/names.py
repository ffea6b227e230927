"""Every name one project's definitions take in a code location, from its key prefix.

Two projects (two components, say one per business unit) load side by side in one code
location only if none of their asset keys, op, job, schedule or resource names clash: each
name is derived here from the key prefix, so the rest of the package never spells one out.
Without a prefix (this repository's own code location) the names are the plain ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg


@dataclass(frozen=True)
class Names:
    key_prefix: tuple[str, ...] = ()
    group_name: str | None = None  # one group for every asset; else a group per layer

    def key(self, *path: str) -> dg.AssetKey:
        return dg.AssetKey([*self.key_prefix, *path])

    def group(self, layer: str) -> str:
        """`sources`, `warehouse` or `reports`: the layer, which is also the key's first
        part after the prefix, unless the project asked for one group of its own."""
        return self.group_name or layer

    def _scoped(self, name: str, separator: str = "__") -> str:
        return separator.join([*self.key_prefix, name]) if self.key_prefix else name

    def op(self, name: str) -> str:
        return self._scoped(name)

    def resource(self, name: str) -> str:
        return self._scoped(name)

    @property
    def job(self) -> str:
        return self._scoped("nightly", "_") if self.key_prefix else "okr_nightly"

    @property
    def schedule(self) -> str:
        return f"{self.job}_schedule"

    @property
    def project_resource(self) -> str:
        return self.resource("okr_project")

    @property
    def warehouse_resource(self) -> str:
        return self.resource("warehouse")

    @property
    def io_manager(self) -> str:
        return self.resource("io_manager")
