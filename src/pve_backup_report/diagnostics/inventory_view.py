"""`--dump-inventory`: the normalized inventory as terminal tables or one JSON object.

Values from the cluster (names, notes, comments) are user-written: they are rendered as plain
`Text`, never as rich markup, so a guest named `[red]x` prints literally.
"""

from __future__ import annotations

from typing import IO, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..model import Inventory, Storage
from ..report.i18n import Translator
from ..serialize import to_jsonable
from .words import word

NOT_SPECIFIED = "not specified"


def _cell(value: Any, tr: Translator | None = None) -> Text:
    if value is None or value == "" or value == ():
        return Text(word(tr, NOT_SPECIFIED), style="italic dim")
    if isinstance(value, bool):
        return Text(word(tr, "yes" if value else "no"))
    if isinstance(value, tuple | list):
        return Text(", ".join(str(v) for v in value))
    if isinstance(value, dict):
        return Text(", ".join(f"{k}={v}" for k, v in value.items()))
    return Text(str(value))


def _first_line(text: str | None, limit: int = 60) -> str | None:
    if not text:
        return None
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _table(
    title: str, columns: list[str], rows: list[list[Any]], tr: Translator | None = None
) -> Table:
    """A table whose title and headers (English in the code) speak `tr`'s language."""
    table = Table(title=word(tr, title), title_justify="left", show_lines=False)
    for column in columns:
        table.add_column(word(tr, column), overflow="fold")
    for row in rows:
        table.add_row(*(_cell(v, tr) for v in row))
    if not rows:
        none = Text(word(tr, "(none)"), style="dim")
        table.add_row(*([none] + [Text("")] * (len(columns) - 1)))
    return table


def _pbs_rows(storages: tuple[Storage, ...], tr: Translator | None) -> list[list[Any]]:
    return [
        [
            s.storage_id,
            word(tr, "active" if s.active else "disabled"),
            s.server,
            s.port or f"8007 ({word(tr, 'default')})",
            s.datastore,
            s.namespace or word(tr, "root"),
            s.username,
            s.fingerprint,
            f"{word(tr, 'yes')} ({word(tr, 'key')} {s.encryption_key})"
            if s.encryption_key
            else word(tr, "no"),
            s.retention or None,
            s.nodes or word(tr, "all nodes"),
        ]
        for s in storages
        if s.is_pbs
    ]


def inventory_json(inventory: Inventory) -> dict[str, Any]:
    data: dict[str, Any] = to_jsonable(inventory)
    data["pbs_storages"] = [to_jsonable(s) for s in inventory.storages if s.is_pbs]
    return data


def render_inventory(
    inventory: Inventory, out: IO[str], width: int | None = None, tr: Translator | None = None
) -> None:
    """The inventory as terminal tables, in `tr`'s language (English without one)."""
    console = Console(file=out, width=width or 160, highlight=False, markup=False, emoji=False)
    version = inventory.version.version if inventory.version else None
    colon = tr.punct(":") if tr is not None else ":"
    unset = word(tr, NOT_SPECIFIED)
    console.print(
        Text(
            f"{word(tr, 'Cluster')}{colon} {inventory.cluster_label}   "
            f"{word(tr, 'PVE version')}{colon} {version or unset}   API{colon} {inventory.api_url}"
        )
    )
    console.print(
        _table(
            "Nodes",
            ["node", "status", "subscription", "ssl fingerprint"],
            [[n.name, n.status, n.subscription_level, n.ssl_fingerprint] for n in inventory.nodes],
            tr,
        )
    )
    console.print(
        _table(
            "PBS storages",
            [
                "storage",
                "state",
                "server",
                "port",
                "datastore",
                "namespace",
                "username",
                "fingerprint",
                "encryption",
                "retention",
                "nodes",
            ],
            _pbs_rows(inventory.storages, tr),
            tr,
        )
    )
    console.print(
        _table(
            "Other storages",
            ["storage", "type", "state", "content", "nodes"],
            [
                [
                    s.storage_id,
                    s.type,
                    word(tr, "active" if s.active else "disabled"),
                    s.content,
                    s.nodes or word(tr, "all nodes"),
                ]
                for s in inventory.storages
                if not s.is_pbs
            ],
            tr,
        )
    )
    console.print(
        _table(
            "Guests",
            [
                "vmid",
                "name",
                "type",
                "node",
                "status",
                "template",
                "pool",
                "tags",
                "excluded disks",
                "notes",
            ],
            [
                [
                    g.vmid,
                    g.name,
                    g.type,
                    g.node,
                    g.status,
                    g.template,
                    g.pool,
                    g.tags,
                    [f"{d.key} ({d.reason})" for d in g.excluded_disks] or "-",
                    _first_line(g.notes),
                ]
                for g in inventory.guests
            ],
            tr,
        )
    )
    pools = inventory.pools
    console.print(
        _table(
            "Pools",
            ["pool", "comment", "members (job pools)"],
            [[p.poolid, p.comment, _members(inventory, p.poolid, tr)] for p in (pools or ())],
            tr,
        )
        if pools is not None
        else Text(word(tr, "Pools: could not be read (see anomalies)"))
    )
    jobs = inventory.jobs
    console.print(
        _table(
            "Backup jobs",
            [
                "id",
                "state",
                "schedule",
                "storage",
                "mode",
                "selection",
                "node",
                "next run",
                "retention",
                "comment",
            ],
            [
                [
                    j.job_id + (f" ({word(tr, 'legacy')})" if j.legacy else ""),
                    word(tr, "enabled" if j.enabled else "disabled"),
                    j.schedule,
                    j.storage,
                    j.mode,
                    _selection(j.selection, tr),
                    j.node or word(tr, "all nodes"),
                    j.next_run.isoformat() if j.next_run else None,
                    j.retention or None,
                    j.comment,
                ]
                for j in (jobs or ())
            ],
            tr,
        )
        if jobs is not None
        else Text(word(tr, "Backup jobs: could not be read (see anomalies)"))
    )
    console.print(
        _table(
            "Anomalies",
            ["severity", "component", "code", "message"],
            [
                [
                    word(tr, a.severity.value),
                    a.component,
                    a.code,
                    tr.anomaly(a.code, a.message, a.details) if tr is not None else a.message,
                ]
                for a in sorted(inventory.anomalies, key=lambda a: (a.severity.rank, a.code))
            ],
            tr,
        )
    )


def _members(inventory: Inventory, poolid: str, tr: Translator | None = None) -> str | None:
    membership = inventory.pool_memberships.get(poolid)
    if membership is None:
        from_resources = sorted(g.vmid for g in inventory.guests if g.pool == poolid)
        return ", ".join(map(str, from_resources)) if from_resources else None
    if membership.state != "ok":
        return f"({membership.state})"
    return ", ".join(map(str, membership.members)) or word(tr, "(empty)")


def _selection(selection: Any, tr: Translator | None = None) -> str:
    if selection.mode == "pool":
        return f"{word(tr, 'pool')} {selection.pool}"
    if selection.mode == "vmid":
        return "vmid " + ", ".join(map(str, selection.vmids))
    if selection.mode == "all":
        return word(tr, "all") + (
            f" {word(tr, 'except')} " + ", ".join(map(str, selection.exclude))
            if selection.exclude
            else ""
        )
    return word(tr, "nothing")
