"""Every output of the frozen-clock demo, captured and normalised for the golden-file tests.

One function, `capture_all()`, runs the real CLI in this process against the simulated demo
cluster and its backup server (the `demo` scenario, clock frozen at the scenario's `now`,
2025-11-26T07:00:00Z) and returns `{file name: text}`. `scripts/update_golden.py` writes
them to `tests/golden/files/`; `test_golden.py` compares them. Anything that changes from
one run to the next is normalised: ports, temporary paths, certificate fingerprints, run
durations, the wall-clock stamp of the multi-cluster summary, e-mail Message-ID, Date and
MIME boundaries. PDF and HTML are reduced to what a reader sees (pdftotext, tags and styles
out), so a change of fonts or CSS does not hide a change of content.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import io
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from pve_backup_report import cli
from pve_backup_report.demo import demo_scenario_path
from pve_backup_report.simulator.scenario import load_scenario
from pve_backup_report.simulator.server import SimulatorServer
from pve_backup_report.simulator.tls import TlsMaterial, generate_tls

GOLDEN_DIR = Path(__file__).parent / "files"
VARIABLES = ("PVE_", "PBS", "SMTP_", "MAIL_", "REPORT_", "BACKUP_")


def _scenario(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(demo_scenario_path().read_text(encoding="utf-8"))
    data["auth_failure_delay_s"] = 0
    data["cluster"]["name"] = name
    return data


class Cluster:
    """One simulated demo cluster with its backup server, and the variables a user sets."""

    def __init__(
        self,
        name: str,
        tls: TlsMaterial,
        change: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.data = _scenario(name)
        if change is not None:
            change(self.data)
        scenario = load_scenario(self.data)
        kw: dict[str, Any] = {"host": "127.0.0.1", "port": 0}
        kw |= {"certfile": tls.cert_path, "keyfile": tls.key_path}
        self.pve = SimulatorServer(scenario, **kw).start()
        self.env = {
            "PVE_HOST": f"127.0.0.1:{self.pve.port}",
            "PVE_API_TOKEN_ID": self.data["token"]["id"],
            "PVE_API_TOKEN_SECRET": self.data["token"]["secret"],
            "PVE_CA_BUNDLE": str(tls.ca_pem_path),
            "PVE_TLS_FINGERPRINT": tls.fingerprint,
        }
        # every backup server of the demo (the second one holds the off-site copies); the
        # scenario's host names do not resolve here: storages and aliases name them
        self.pbs_all: list[SimulatorServer] = []
        for number, spec in enumerate(self.data["pbs_servers"], 1):
            sim = SimulatorServer.for_pbs(scenario, spec["name"], **kw).start()
            self.pbs_all.append(sim)
            storages = [
                s["storage"]
                for s in self.data["storages"]
                if s.get("type") == "pbs" and s.get("server") == spec["host"]
            ]
            prefix = f"PBS{number:02d}"
            self.env |= {
                f"{prefix}_NAME": spec["name"],
                f"{prefix}_API_URL": f"https://127.0.0.1:{sim.port}",
                f"{prefix}_API_TOKEN_ID": spec["token"]["id"],
                f"{prefix}_API_TOKEN_SECRET": spec["token"]["secret"],
                f"{prefix}_CA_BUNDLE": str(tls.ca_pem_path),
                f"{prefix}_TLS_FINGERPRINT": tls.fingerprint,
                f"{prefix}_ALIASES": spec["host"],
            }
            if storages:
                self.env[f"{prefix}_STORAGES"] = ",".join(storages)
        self.pbs = self.pbs_all[0]

    def stop(self) -> None:
        self.pve.stop()
        for sim in self.pbs_all:
            sim.stop()


class Mailbox:
    """An SMTP server on 127.0.0.1 that keeps what it receives."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.received: list[bytes] = []
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        box = self

        class Sink:
            async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
                box.received.append(envelope.original_content)
                return "250 OK"

        self.controller = Controller(Sink(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def env(self) -> dict[str, str]:
        return {
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(self.port),
            "SMTP_SECURITY": "none",
            "MAIL_FROM": "pve-report@example.com",
            "MAIL_TO": "ops@example.com",
        }


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    for name in [n for n in os.environ if n.startswith(VARIABLES)]:
        del os.environ[name]
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def _frozen(now: datetime) -> Iterator[None]:
    """The main job's clock reads `now` (the demo cluster lives on its own date)."""
    original = cli.run

    def run(*args: Any, **kw: Any) -> int:
        kw.setdefault("now", now)
        return original(*args, **kw)

    cli.run = run
    try:
        yield
    finally:
        cli.run = original


def _cli(argv: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with _environment(env):
        code = cli.main(argv, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


# ------------------------------------------------------------------------- normalising


def normaliser(tmp: Path, clusters: list[Cluster], tls: TlsMaterial) -> Callable[[str], str]:
    replacements = [(str(tmp), "<TMP>"), (tls.fingerprint, "<FINGERPRINT>")]
    replacements.append((tls.fingerprint.replace(":", "").lower(), "<FINGERPRINT>"))
    for index, c in enumerate(clusters, 1):
        replacements += [(f":{c.pve.port}", f":<PVE{index}_PORT>")]
        replacements += [(f":{c.pbs.port}", f":<PBS{index}_PORT>")]
        for number, sim in enumerate(c.pbs_all[1:], 2):
            replacements += [(f":{sim.port}", f":<PBS{index}_{number}_PORT>")]

    def normalise(text: str) -> str:
        text = text.replace("\r\n", "\n")  # MIME and CSV line ends; git keeps files in LF
        for old, new in replacements:
            text = text.replace(old, new)
        text = re.sub(r"(run_duration_seconds\{[^}]*\}) \S+", r"\1 0.0", text)
        text = re.sub(r"combined_\d{8}-\d{6}", "combined_<STAMP>", text)
        text = re.sub(r"Combined backup summary — \S+", "Combined backup summary — <NOW>", text)
        return re.sub(
            r'"generated_at": "20[^"]*"(,\n  "status")', r'"generated_at": "<NOW>"\1', text
        )

    return normalise


def html_text(html: str) -> str:
    """What a reader of the HTML sees: no style, script or SVG path data, tags removed, one
    line per block, so the golden diff shows wording and figures, not markup."""
    html = re.sub(r"(?is)<(style|script)\b.*?</\1>", "", html)
    html = re.sub(r"(?i)<br\s*/?>|</(p|div|h[1-6]|li|tr|dt|dd|section|table|ul|ol)>", "\n", html)
    html = re.sub(r"(?i)</t[dh]>", " | ", html)
    html = re.sub(r"(?i)</(span|a|strong|em|bdi|code)>", r"</\1> ", html)
    text = re.sub(r"<[^>]+>", "", html)
    for entity, char in (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&#39;", "'")):
        text = text.replace(entity, char)
    text = text.replace("&amp;", "&")
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line) + "\n"


def pdf_text(path: Path) -> str:
    if shutil.which("pdftotext") is None:
        return "(pdftotext not installed)\n"
    result = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    )
    lines = (line.rstrip() for line in result.stdout.replace("\f", "\n<PAGE>\n").splitlines())
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))  # layout gaps say nothing
    return text.strip("\n") + "\n"


def mail_text(raw: bytes) -> str:
    """Subject, MIME structure (types and file names) and the plain-text part."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    lines = [f"Subject: {str(message['Subject']).strip()}", f"From: {message['From']}"]
    lines.append(f"To: {message['To']}")
    lines += ["", "MIME structure:"]

    def walk(part: EmailMessage, depth: int) -> None:
        name = part.get_filename()
        lines.append("  " * depth + part.get_content_type() + (f" ({name})" if name else ""))
        if part.is_multipart():
            for sub in part.iter_parts():
                assert isinstance(sub, EmailMessage)
                walk(sub, depth + 1)

    walk(message, 1)
    body = message.get_body(("plain",))
    lines += ["", "Text part:", "", body.get_content().rstrip() if body is not None else "(none)"]
    return "\n".join(lines) + "\n"


def _files(folder: Path) -> dict[str, Path]:
    """Report files by their kind (`report.json`, `combined.md`…), independent of names."""
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        kind = "combined" if "_combined_" in path.name else "report"
        if path.suffix == ".prom":
            kind = "metrics"
        elif kind == "report" and path.name.count("_") >= 2:
            kind = "report-" + path.name.split("_")[1]
        found[f"{kind}{path.suffix}"] = path
    return found


# ------------------------------------------------------------------------- capturing


def capture_all() -> dict[str, str]:
    """{golden file name: normalised text} for every output."""
    tmp = Path(tempfile.mkdtemp(prefix="pbr-golden-"))
    tls = generate_tls()
    clusters = [Cluster("demo", tls), Cluster("demo-b", tls)]
    mailbox = Mailbox()
    norm = normaliser(tmp, clusters, tls)
    now = datetime.fromtimestamp(clusters[0].data["now"], UTC)
    results: dict[str, str] = {}
    try:
        with _frozen(now), contextlib.chdir(tmp):
            results |= _single(tmp, clusters[0], mailbox)
            results |= _multi(tmp, clusters)
            results |= _unknown(tmp, clusters[0], mailbox)
    finally:
        mailbox.controller.stop()
        for c in clusters:
            c.stop()
    normalised = {name: norm(text) for name, text in results.items()}
    shutil.rmtree(tmp, ignore_errors=True)
    return normalised


def capture_single(change: Callable[[dict[str, Any]], None]) -> dict[str, str]:
    """The single-cluster outputs of the demo scenario after `change` (e.g. to make counts
    that the demo leaves at zero non-zero), normalised like the golden files."""
    tmp = Path(tempfile.mkdtemp(prefix="pbr-outputs-"))
    tls = generate_tls()
    cluster = Cluster("demo", tls, change)
    mailbox = Mailbox()
    now = datetime.fromtimestamp(cluster.data["now"], UTC)
    try:
        with _frozen(now), contextlib.chdir(tmp):
            results = _single(tmp, cluster, mailbox)
    finally:
        mailbox.controller.stop()
        cluster.stop()
    norm = normaliser(tmp, [cluster], tls)
    normalised = {name: norm(text) for name, text in results.items()}
    shutil.rmtree(tmp, ignore_errors=True)
    return normalised


def _single(tmp: Path, c: Cluster, mailbox: Mailbox) -> dict[str, str]:
    out_dir = tmp / "single"
    history = {"REPORT_HISTORY_DB": str(tmp / "history.sqlite3")}
    env = c.env | history | mailbox.env()
    formats = "pdf,html,json,csv,md,text,prometheus"
    code, out, err = _cli(["--format", formats, "--output-dir", str(out_dir), "--send-mail"], env)
    files = _files(out_dir)
    results = {
        "single/main.stdout.txt": out,
        "single/main.stderr.txt": err + f"exit code: {code}\n",
        "single/report.json": files["report-demo.json"].read_text(encoding="utf-8"),
        "single/report.csv": files["report-demo.csv"].read_text(encoding="utf-8"),
        "single/report.md": files["report-demo.md"].read_text(encoding="utf-8"),
        "single/report.html.txt": html_text(files["report-demo.html"].read_text("utf-8")),
        "single/report.pdf.txt": pdf_text(files["report-demo.pdf"]),
        "single/metrics.prom": files["metrics.prom"].read_text(encoding="utf-8"),
        "single/mail.txt": mail_text(mailbox.received.pop()),
    }
    code, out, _ = _cli(["history", "--db", history["REPORT_HISTORY_DB"]], env)
    results["single/history.txt"] = out + f"exit code: {code}\n"
    code, out, _ = _cli(["--check", "--no-history"], c.env)
    results["single/check.txt"] = out + f"exit code: {code}\n"
    code, out, _ = _cli(["--dump-coverage", "--json", "--no-history"], c.env)
    results["single/dump-coverage.json"] = out
    return results


def _env_files(tmp: Path, clusters: list[Cluster]) -> list[str]:
    args: list[str] = []
    for c in clusters:
        path = tmp / f"{c.data['cluster']['name']}.env"
        path.write_text("".join(f"{k}={v}\n" for k, v in c.env.items()), encoding="utf-8")
        args += ["--env-file", str(path)]
    return args


def _multi(tmp: Path, clusters: list[Cluster]) -> dict[str, str]:
    files = _env_files(tmp, clusters)
    out_dir = tmp / "multi"
    argv = [*files, "--format", "md,prometheus", "--output-dir", str(out_dir), "--no-history"]
    code, out, _ = _cli(argv, {})
    found = _files(out_dir)
    results = {
        "multi/main.stdout.txt": out + f"exit code: {code}\n",
        "multi/metrics.prom": found["metrics.prom"].read_text(encoding="utf-8"),
        "multi/combined.md": found["combined.md"].read_text(encoding="utf-8"),
        "multi/combined.json": found["combined.json"].read_text(encoding="utf-8"),
    }
    code, out, _ = _cli([*files, "--check", "--no-history"], {})
    results["multi/check.txt"] = out + f"exit code: {code}\n"
    code, out, _ = _cli([*files, "--dump-coverage", "--json", "--no-history"], {})
    results["multi/dump-coverage.digest.json"] = _digest(out, code)
    return results


def _digest(out: str, code: int) -> str:
    """The multi-cluster dump is one JSON document; each cluster's part is the single-cluster
    dump (golden on its own), so only its frame and each cluster's verdicts are kept here."""
    data = json.loads(out)
    clusters = [
        {
            "env_file": Path(c["env_file"]).name,
            "cluster": c["cluster"],
            "status": c["status"],
            "summary": c["data"]["summary"],
            "verdicts": {str(g["vmid"]): g["coverage"]["status"] for g in c["data"]["guests"]},
        }
        for c in data["clusters"]
    ]
    digest = {"keys": sorted(data), "status": data["status"], "exit_code": code}
    return json.dumps(digest | {"clusters": clusters}, indent=2) + "\n"


def _unknown(tmp: Path, c: Cluster, mailbox: Mailbox) -> dict[str, str]:
    """A wrong token secret: the cluster cannot be read."""
    env = c.env | {"PVE_API_TOKEN_SECRET": "00000000-0000-0000-0000-000000000000"}
    out_dir = tmp / "unknown"
    argv = ["--format", "text,md", "--output-dir", str(out_dir), "--no-history", "--send-mail"]
    code, out, err = _cli(argv, env | mailbox.env())
    results = {
        "unknown/main.stdout.txt": out,
        "unknown/main.stderr.txt": err + f"exit code: {code}\n",
        "unknown/report.md": next(out_dir.glob("*.md")).read_text(encoding="utf-8"),
        "unknown/mail.txt": mail_text(mailbox.received.pop()),
    }
    code, out, _ = _cli(["--check", "--no-history"], env)
    results["unknown/check.txt"] = out + f"exit code: {code}\n"
    return results
