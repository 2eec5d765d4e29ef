"""Version, cluster name and nodes."""

from __future__ import annotations

from typing import Any

from ..model import Node, Severity, VersionInfo
from .base import Collector
from .parse import as_str


def normalize_version(data: Any) -> VersionInfo | None:
    if not isinstance(data, dict):
        return None
    return VersionInfo(
        version=as_str(data.get("version")),
        release=as_str(data.get("release")),
        repoid=as_str(data.get("repoid")),
    )


def normalize_node(item: dict[str, Any]) -> Node | None:
    name = as_str(item.get("node"))
    if name is None:
        return None
    status = as_str(item.get("status")) or "unknown"
    return Node(
        name=name,
        status=status,
        ssl_fingerprint=as_str(item.get("ssl_fingerprint")),
        subscription_level=as_str(item.get("level")),
    )


def cluster_name_from_status(data: Any) -> str | None:
    """`/cluster/status` has one `type: cluster` entry; a standalone node has none (None: its
    identity is then its only node's name, see `Inventory.cluster_label`)."""
    if not isinstance(data, list):
        return None
    for item in data:
        if isinstance(item, dict) and item.get("type") == "cluster":
            return as_str(item.get("name"))
    return None


async def collect_version(col: Collector) -> VersionInfo | None:
    response = await col.fetch(
        "/version",
        component="api",
        code="version_unavailable",
        what="Cannot read PVE version",
        expect="object",
    )
    return normalize_version(response.data) if response else None


async def collect_cluster_name(col: Collector) -> str | None:
    """The cluster's name (None on a standalone node, or when `/cluster/status` failed: then
    an anomaly says so, since history and multi-cluster summaries are keyed by this name)."""
    response = await col.fetch(
        "/cluster/status",
        component="api",
        code="cluster_status_unavailable",
        what="Cannot read the cluster name",
        expect="list",
    )
    return cluster_name_from_status(response.data) if response is not None else None


async def collect_nodes(col: Collector) -> tuple[Node, ...] | None:
    """The cluster's nodes; None when the list could not be read."""
    response = await col.fetch(
        "/nodes",
        component="nodes",
        code="nodes_unavailable",
        what="Cannot list cluster nodes",
        severity=Severity.CRITICAL,
        expect="list",
    )
    if response is None:
        return None
    nodes = []
    for item in col.expect_list(response, "nodes", "/nodes"):
        node = normalize_node(item)
        if node is not None:
            nodes.append(node)
    for node in nodes:
        if not node.online:
            col.add(
                Severity.WARNING,
                "nodes",
                "node_offline",
                f"Node {node.name} is {node.status}: its tasks and guest configs cannot be read",
                node=node.name,
                status=node.status,
            )
    return tuple(sorted(nodes, key=lambda n: n.name))
