"""The documentation against the tree: README.md stays short, every relative link in README.md,
BENCHMARKS.md and docs/ leads to a file and heading that exist, every repository path the
docs name exists, and docs/architecture.md's module map names every source file of lib/,
daemon/ and client/. (The docs' other checks against the code are in test_ops.py and
test_client.py: see docs/testing.md.)"""
import re

import harness

SRCDIR = harness.SRCDIR
DOCS = [SRCDIR / "README.md", SRCDIR / "BENCHMARKS.md"] + sorted((SRCDIR / "docs").glob("*.md"))
README_MAX_LINES = 150


def without_code_blocks(text):
    return re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)


def anchors(path):
    """GitHub's heading anchors of a Markdown file."""
    out = set()
    for line in without_code_blocks(path.read_text()).splitlines():
        m = re.match(r"^#{1,6} (.*)$", line)
        if m:
            a = m.group(1).strip().lower()
            a = re.sub(r"[^\w\- ]", "", a).replace(" ", "-")
            out.add(a)
    return out


def test_docs_exist():
    names = {p.name for p in DOCS}
    for want in ("protocol.md", "configuration.md", "operations.md", "upstreams.md", "architecture.md",
                 "testing.md"):
        assert want in names, f"docs/{want} is missing"


def test_readme_is_short():
    n = len((SRCDIR / "README.md").read_text().splitlines())
    assert n <= README_MAX_LINES, f"README.md has {n} lines; reference text belongs in docs/"


def test_relative_links_resolve():
    bad = []
    for doc in DOCS:
        for target in re.findall(r"\]\(([^)\s]+)\)", without_code_blocks(doc.read_text())):
            if re.match(r"^[a-z]+:", target):
                continue                      # https:, mailto:
            path, _, anchor = target.partition("#")
            dest = (doc.parent / path).resolve() if path else doc
            if not dest.exists():
                bad.append(f"{doc.name}: {target}: no such file")
            elif anchor and anchor not in anchors(dest):
                bad.append(f"{doc.name}: {target}: no such heading")
    assert not bad, "\n".join(bad)


PATH_RE = re.compile(r"`((?:lib|daemon|client|tests|scripts|conf|systemd|man)/[^`\s]*)`")


def test_named_paths_exist():
    # placeholders (NAME, <module>, ...) name files to be written, not files that exist
    bad = []
    for doc in DOCS:
        for p in PATH_RE.findall(doc.read_text()):
            p = p.split("::")[0]
            if re.search(r"NAME|<|\*|\.\.\.|\{", p):
                continue
            if not (SRCDIR / p).exists():
                bad.append(f"{doc.name}: {p}")
    assert not bad, "docs name paths that do not exist:\n" + "\n".join(bad)


def test_module_map_names_every_source_file():
    text = (SRCDIR / "docs" / "architecture.md").read_text()
    missing = []
    for d in ("lib", "daemon", "client"):
        for f in sorted((SRCDIR / d).glob("*.[ch]")):
            # a module's header goes with its .c file; a header alone must be named itself
            if f.suffix == ".h" and f.with_suffix(".c").exists():
                continue
            if f"`{f.name}`" not in text and f"`{d}/{f.name}`" not in text:
                missing.append(f"{d}/{f.name}")
    assert not missing, "docs/architecture.md's module map does not name: " + ", ".join(missing)
