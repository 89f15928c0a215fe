"""Team documents: readers for md/txt/html/pdf, bad files reported and skipped, add/list/remove."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import knowledge
import knowledge.shipped as shipped
from knowledge.config import KbSettings
from knowledge.ingest import ingest_file, ingest_paths
from knowledge.testing import write_guide


def make_pdf(path: Path, lines: list[str], title: str = "Cluster guide") -> Path:
    """Write a small valid PDF with one page of text (Helvetica, no dependencies)."""
    text = "BT /F1 12 Tf 72 720 Td 14 TL " + " ".join(
        "(" + s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ") '"
        for s in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(text)} >>\nstream\n{text}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Title ({title}) >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += (f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info 6 0 R >>\n"
            f"startxref\n{xref}\n%%EOF\n").encode()
    path.write_bytes(bytes(out))
    return path


@pytest.fixture()
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    (folder / "nested").mkdir(parents=True)
    (folder / "runbook.md").write_text(
        "# GPU runbook\n\n## Quota\n\nEach team gets four H100 nodes on the zephyr cluster.\n\n"
        "## 申请流程\n\n在 zephyr 集群申请显卡需要填写工单。\n", "utf-8")
    (folder / "notes.txt").write_text(
        "Serving notes\n\nThe staging vLLM runs with gpu_memory_utilization 0.85 on quokka.\n",
        "utf-8")
    (folder / "nested" / "page.html").write_text(
        "<html><head><title>Wiki page</title><style>p{}</style></head><body>"
        "<nav>menu</nav><h1>Wiki page</h1><p>Intro.</p><h2>Storage</h2>"
        "<p>Checkpoints live on the marmot filesystem.</p><script>var x;</script></body></html>",
        "utf-8")
    (folder / "gbk.txt").write_bytes("显存预算：每人一张卡\n".encode("gb18030"))
    make_pdf(folder / "policy.pdf", ["Policy: jobs on the wombat queue",
                                     "must request at most 8 GPUs."])
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4\nthis is not really a pdf\n")
    (folder / "blob.md").write_bytes(b"\x00\x01\x02binary")
    (folder / "image.png").write_bytes(b"\x89PNG")  # unsupported: ignored inside folders
    return folder


@pytest.fixture()
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[KbSettings]:
    monkeypatch.setenv("HEADROOM_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("HEADROOM_CHROMA_URL", raising=False)
    monkeypatch.delenv("HEADROOM_EMBEDDINGS_URL", raising=False)
    guide = write_guide(tmp_path, "tiny.md", "# Tiny\n\n## One\n\nGuide text.\n")
    monkeypatch.setattr(shipped, "GUIDE_DIR", guide)
    yield knowledge.load_settings()
    knowledge.close()


def test_readers(docs: Path) -> None:
    md = ingest_file(docs / "runbook.md")
    assert md.title == "GPU runbook"
    assert [c.section for c in md.chunks] == ["Quota", "申请流程"]
    assert [c.lang for c in md.chunks] == ["en", "zh"] and md.chunks[0].kind == "team"
    txt = ingest_file(docs / "notes.txt")
    assert txt.title == "Serving notes" and "quokka" in txt.chunks[0].text
    html = ingest_file(docs / "nested" / "page.html")
    assert html.title == "Wiki page"
    storage = [c for c in html.chunks if c.section == "Storage"]
    assert storage and "marmot" in storage[0].text
    assert not any("var x" in c.text or "menu" in c.text for c in html.chunks)
    pdf = ingest_file(docs / "policy.pdf")
    assert pdf.title == "Cluster guide" and pdf.chunks[0].section == "page 1"
    assert "wombat" in pdf.chunks[0].text
    assert "显存预算" in ingest_file(docs / "gbk.txt").chunks[0].text


def test_bad_files_are_reported_and_skipped(docs: Path, tmp_path: Path) -> None:
    report = ingest_paths([docs, tmp_path / "missing.md", docs / "image.png"])
    read = {Path(d.source).name for d in report.documents}
    assert read == {"runbook.md", "notes.txt", "page.html", "gbk.txt", "policy.pdf"}
    errors = {Path(p).name: reason for p, reason in report.errors}
    assert set(errors) == {"broken.pdf", "blob.md", "missing.md", "image.png"}
    assert "unreadable PDF" in errors["broken.pdf"]
    assert "binary" in errors["blob.md"]
    assert "no such file" in errors["missing.md"]
    assert "unsupported file type" in errors["image.png"]


def test_add_list_search_remove(docs: Path, settings: KbSettings) -> None:
    report = knowledge.add([docs], settings)
    assert len(report.added) == 5 and len(report.errors) == 2
    sources = {s.source: s for s in knowledge.list_sources(settings)}
    runbook = str((docs / "runbook.md").resolve())
    assert sources[runbook].kind == "team" and sources[runbook].chunks == 2
    assert any(s.kind == "guide" for s in sources.values())

    hit = knowledge.search("how many H100 nodes does each team get", k=1, settings=settings)[0]
    assert hit.source == runbook and hit.section == "Quota"
    assert knowledge.search("wombat queue GPUs", k=1, settings=settings)[0].source.endswith(
        "policy.pdf")
    zh = knowledge.search("zephyr 集群怎么申请显卡", k=1, settings=settings)[0]
    assert zh.section == "申请流程"

    knowledge.build(settings, force=True)  # team documents survive a full rebuild
    assert runbook in {s.source for s in knowledge.list_sources(settings)}

    assert knowledge.remove([str(docs / "runbook.md")], settings) == [runbook]
    assert runbook not in {s.source for s in knowledge.list_sources(settings)}
    assert all(p.source != runbook
               for p in knowledge.search("H100 nodes zephyr", k=5, settings=settings))
    with pytest.raises(knowledge.KnowledgeError, match="not in the index"):
        knowledge.remove(["nope.md"], settings)
    with pytest.raises(knowledge.KnowledgeError, match="cannot be removed"):
        knowledge.remove(["knowledge/guide/en/tiny.md"], settings)


def test_re_adding_a_file_replaces_its_chunks(docs: Path, settings: KbSettings) -> None:
    knowledge.add([docs / "notes.txt"], settings)
    (docs / "notes.txt").write_text("Serving notes\n\nNow quokka uses 0.80.\n", "utf-8")
    result = knowledge.add([docs / "notes.txt"], settings).result
    assert result is not None and result.embedded == 1 and result.removed == 1
    team = [s for s in knowledge.list_sources(settings) if s.kind == "team"]
    assert len(team) == 1 and team[0].chunks == 1
