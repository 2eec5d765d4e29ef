"""The token's ACL and the privilege checks PVE applies to the read endpoints.

Why: most surprises of a read-only tool come from permissions (silently filtered lists, empty
storage content for an auditor, 403 on the job list). The scenario gives the token's *effective*
ACL (privilege-separation intersection already applied by the author); this module resolves it
per ACL path the way PVE does: walking from ``/`` to the path, a level with matching entries
replaces what was inherited, ancestors only count when ``propagate`` is set.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

ADMIN_PRIVS: frozenset[str] = frozenset(
    {
        "Sys.Audit", "Sys.Modify", "Sys.Console", "Sys.Syslog", "Sys.PowerMgmt",
        "Sys.Incoming", "Sys.AccessNetwork",
        "VM.Audit", "VM.Allocate", "VM.Backup", "VM.Clone", "VM.Config.CDROM",
        "VM.Config.CPU", "VM.Config.Cloudinit", "VM.Config.Disk", "VM.Config.HWType",
        "VM.Config.Memory", "VM.Config.Network", "VM.Config.Options", "VM.Console",
        "VM.Migrate", "VM.PowerMgmt", "VM.Snapshot", "VM.Snapshot.Rollback",
        "VM.GuestAgent.Audit", "VM.GuestAgent.Unrestricted", "VM.Replicate",
        "Datastore.Allocate", "Datastore.AllocateSpace", "Datastore.AllocateTemplate",
        "Datastore.Audit",
        "Pool.Allocate", "Pool.Audit",
        "SDN.Allocate", "SDN.Audit", "SDN.Use",
        "Mapping.Audit", "Mapping.Modify", "Mapping.Use",
        "User.Modify", "Group.Allocate", "Realm.Allocate", "Realm.AllocateUser",
        "Permissions.Modify",
    }
)  # fmt: skip

#: Built-in roles the scenario may name (pve-api.md §9; PVEVMUser is the backup-relevant subset).
ROLES: Mapping[str, frozenset[str]] = {
    "NoAccess": frozenset(),
    "PVEAuditor": frozenset(
        {
            "Sys.Audit",
            "VM.Audit",
            "VM.GuestAgent.Audit",
            "Datastore.Audit",
            "Pool.Audit",
            "SDN.Audit",
            "Mapping.Audit",
        }
    ),
    "PVEDatastoreUser": frozenset({"Datastore.AllocateSpace", "Datastore.Audit"}),
    "PVEDatastoreAdmin": frozenset(
        {
            "Datastore.Allocate",
            "Datastore.AllocateSpace",
            "Datastore.AllocateTemplate",
            "Datastore.Audit",
        }
    ),
    "PVEVMUser": frozenset(
        {
            "VM.Audit",
            "VM.Backup",
            "VM.Console",
            "VM.Config.CDROM",
            "VM.Config.Cloudinit",
            "VM.PowerMgmt",
            "Pool.Audit",
        }
    ),
    "PVEPoolAuditor": frozenset({"Pool.Audit"}),
    "Administrator": ADMIN_PRIVS,
}


def normalize_path(path: str) -> str:
    """Collapse duplicate slashes and drop a trailing one, like PVE's ACL path normalisation."""
    parts = [part for part in path.split("/") if part]
    return "/" + "/".join(parts)


class Permissions:
    """Resolve privileges of one token.

    ``pool_of`` maps a vmid to its pool: PVE lets ``/pool/<p>`` ACLs reach ``/vms/<id>`` of the
    pool's members; here the pool levels are walked between ``/`` and ``/vms``.
    """

    def __init__(
        self,
        entries: Iterable[tuple[str, frozenset[str], bool]],
        *,
        root: bool = False,
        pool_of: Mapping[int, str] | None = None,
    ) -> None:
        self.root = root
        self._acl: dict[str, list[tuple[frozenset[str], bool]]] = {}
        for path, privs, propagate in entries:
            self._acl.setdefault(normalize_path(path), []).append((privs, propagate))
        self._pool_of = dict(pool_of or {})
        self._cache: dict[str, frozenset[str]] = {}

    @staticmethod
    def expand(privs: Iterable[str], roles: Iterable[str]) -> frozenset[str]:
        """Union of explicit privileges and role contents; unknown roles raise ``KeyError``."""
        result: set[str] = set(privs)
        for role in roles:
            result |= ROLES[role]
        return frozenset(result)

    def _levels(self, path: str) -> list[str]:
        parts = [part for part in path.split("/") if part]
        levels = ["/"] + ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]
        if len(parts) == 2 and parts[0] == "vms" and parts[1].isdigit():
            pool = self._pool_of.get(int(parts[1]))
            if pool:
                pool_parts = pool.split("/")
                pool_levels = ["/pool"] + [
                    "/pool/" + "/".join(pool_parts[: i + 1]) for i in range(len(pool_parts))
                ]
                levels = ["/", *pool_levels, *levels[1:]]
        return levels

    def privileges(self, path: str) -> frozenset[str]:
        """Effective privileges on ``path``."""
        if self.root:
            return ADMIN_PRIVS
        path = normalize_path(path)
        cached = self._cache.get(path)
        if cached is not None:
            return cached
        current: frozenset[str] = frozenset()
        for level in self._levels(path):
            found: set[str] | None = None
            for privs, propagate in self._acl.get(level, []):
                if level == path or propagate:
                    found = (found or set()) | privs
            if found is not None:
                current = frozenset(found)
        self._cache[path] = current
        return current

    def has(self, path: str, priv: str) -> bool:
        """True when ``priv`` is granted on ``path``."""
        return priv in self.privileges(path)

    def has_any(self, path: str, privs: Iterable[str]) -> bool:
        """True when at least one of ``privs`` is granted on ``path``."""
        granted = self.privileges(path)
        return any(priv in granted for priv in privs)


def perm_message(path: str, privs: Iterable[str]) -> str:
    """PVE's 403 text: ``Permission check failed (/path, A|B)``."""
    return f"Permission check failed ({normalize_path(path)}, {'|'.join(privs)})"
