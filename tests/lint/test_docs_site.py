"""The docs site (docs/site/build.py: antsibull-docs pages of the built collection, the Markdown guides, Sphinx
with warnings as errors) builds into build/docs/html, and every link inside it resolves: each relative href or
src names a file of the site and, with #anchor, an id in that file. Links out of the site are not fetched (no
network); build.py already refused guide links to files the repository does not have."""

import html.parser
import importlib.util
import pathlib
import subprocess
import sys
import tarfile
import urllib.parse

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent
HTML = ROOT / "build" / "docs" / "html"


class _Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        for name in ("href", "src"):
            if attrs.get(name):
                self.links.append(attrs[name])


def _parse(path, cache={}):  # pylint: disable=dangerous-default-value
    if path not in cache:
        parser = _Links()
        parser.feed(path.read_text(errors="replace"))
        cache[path] = parser
    return cache[path]


def _broken_links():
    broken = []
    for page in sorted(HTML.rglob("*.html")):
        for link in _parse(page).links:
            url = urllib.parse.urlsplit(link)
            if url.scheme or url.netloc or link.startswith(("mailto:", "javascript:")):
                continue
            path = urllib.parse.unquote(url.path)
            base = HTML if path.startswith("/") else page.parent  # "/": the site's root (the theme's logo)
            target = (base / path.lstrip("/")).resolve() if path else page
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append("%s: %s" % (page.relative_to(HTML), link))
            elif url.fragment and target.suffix == ".html" and url.fragment not in _parse(target).ids:
                broken.append("%s: %s (no such anchor)" % (page.relative_to(HTML), link))
    return broken


def test_every_shipped_page_is_a_guide(collection_tarball):
    """Each Markdown page the tarball ships (README.md, docs/*.md) is a guide of the site."""
    spec = importlib.util.spec_from_file_location("docs_site_build", ROOT / "docs" / "site" / "build.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    guides = set(build.GUIDES)
    with tarfile.open(collection_tarball) as tar:
        shipped = {name for name in tar.getnames() if name == "README.md" or
                   (name.startswith("docs/") and name.count("/") == 1 and name.endswith(".md"))}
    assert shipped == guides, "docs/site/build.py GUIDES and docs/site/index.rst: add %s" % (shipped - guides)


def test_docs_site_builds_and_its_links_resolve(installed_collections):
    env = {"PATH": "%s:/usr/bin:/bin" % BIN, "HOME": str(installed_collections), "LC_ALL": "C.UTF-8",
           "ANSIBLE_COLLECTIONS_PATH": str(installed_collections)}
    result = subprocess.run([sys.executable, str(ROOT / "docs" / "site" / "build.py")], cwd=ROOT, env=env,
                            capture_output=True, text=True, check=False, timeout=600)
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
    pages = {str(p.relative_to(HTML)) for p in HTML.rglob("*.html")}
    for page in ("index.html", "guides/failover.html", "guides/data-safety.html", "guides/engines.html",
                 "guides/README.html", "collections/redis_ha/sentinel_vip/vip_check_module.html",
                 "collections/redis_ha/sentinel_vip/keepalived_role.html"):
        assert page in pages, page
    broken = _broken_links()
    assert not broken, "\n".join(broken[:50])
