"""Files: names, atomic writes, PDF failure isolated, stdout for text and `-`."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from pve_backup_report.report import write as write_mod
from pve_backup_report.report.render_pdf import PdfUnavailableError
from pve_backup_report.report.write import ReportWriteError, base_name, write_reports

from .scenario import build


def _no_pdf(_report: object) -> bytes:
    raise PdfUnavailableError("PDF output needs WeasyPrint: pip install 'pve-backup-report[pdf]'")


def test_names_and_contents(tmp_path: Path) -> None:
    out = io.StringIO()
    paths = write_reports(build(), ["html", "json", "csv", "md"], tmp_path / "reports", out)
    stem = "pve-backup-report_acme_20261126-093000"
    assert [p.name for p in paths] == [f"{stem}.{ext}" for ext in ("html", "json", "csv", "md")]
    assert json.loads(paths[1].read_text(encoding="utf-8"))["schema_version"] == "1.5"
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == sorted(
        p.name for p in paths
    )  # no temporary file left behind
    assert out.getvalue() == ""


def test_cluster_name_is_sanitised() -> None:
    from dataclasses import replace

    report = build()
    odd = replace(report, cluster=replace(report.cluster, name="../a b/<c>", label="../a b/<c>"))
    assert base_name(odd) == "pve-backup-report_a-b-c_20261126-093000"
    none = replace(report, cluster=replace(report.cluster, name=None, label=""))
    assert base_name(none).startswith("pve-backup-report_cluster_")


def test_pdf_failure_does_not_stop_other_formats(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(write_mod, "render_pdf", _no_pdf)
    errors: dict[str, Exception] = {}
    paths = write_reports(build(), ["pdf", "html", "json"], tmp_path, io.StringIO(), errors=errors)
    assert [p.suffix for p in paths] == [".html", ".json"]
    assert isinstance(errors["pdf"], PdfUnavailableError)
    with pytest.raises(ReportWriteError) as info:
        write_reports(build(), ["pdf", "csv"], tmp_path, io.StringIO())
    assert [p.suffix for p in info.value.written] == [".csv"]


def test_failed_write_keeps_previous_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "r.json"
    target.write_text("old", encoding="utf-8")

    def boom(_fd: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("os.fsync", boom)
    with pytest.raises(OSError, match="disk full"):
        write_mod.atomic_write(target, b"new")
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_text_and_dash_go_to_stdout(tmp_path: Path) -> None:
    out = io.StringIO()
    assert write_reports(build(), ["text"], tmp_path / "unused", out) == []
    assert "107" in out.getvalue()
    assert not (tmp_path / "unused").exists()
    out = io.StringIO()
    errors: dict[str, Exception] = {}
    assert write_reports(build(), ["json", "pdf"], Path("-"), out, errors=errors) == []
    assert json.loads(out.getvalue())["cluster"]["name"] == "acme"
    assert "pdf" in errors


def test_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="xlsx"):
        write_reports(build(), ["xlsx"], tmp_path, io.StringIO())


def test_unusable_output_folder_is_an_error_per_file_not_a_crash(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    out = io.StringIO()
    errors: dict[str, Exception] = {}
    paths = write_reports(build(), ["html", "json", "text"], blocker / "reports", out,
                          errors=errors)  # fmt: skip
    assert paths == []
    assert sorted(errors) == ["html", "json"]
    expected = f"cannot write {blocker / 'reports'}: Not a directory"
    assert {str(e) for e in errors.values()} == {expected}
    assert out.getvalue() != ""  # the terminal summary is still printed


def test_write_error_names_the_report_file_never_the_temporary_one(tmp_path: Path) -> None:
    report = build()
    (tmp_path / f"{base_name(report)}.html").mkdir()  # the final rename fails
    errors: dict[str, Exception] = {}
    paths = write_reports(report, ["html", "json"], tmp_path, io.StringIO(), errors=errors)
    assert paths == [tmp_path / f"{base_name(report)}.json"]  # the other format is written
    target = tmp_path / f"{base_name(report)}.html"
    assert [str(e) for e in errors.values()] == [f"cannot write {target}: Is a directory"]
    assert not list(tmp_path.glob(".*.tmp"))  # and the temporary file is gone
