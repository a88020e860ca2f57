"""Build the docs site into build/docs/html (make docs; tests/lint/test_docs_site.py builds and link-checks it).

1. antsibull-docs writes the plugin and role pages of the installed collection (make collection) to
   build/docs/rst/collections;
2. the guides (README.md and the docs/*.md the tarball ships) are copied to build/docs/rst/guides, their links
   rewritten: to another guide within the site, to any other file of the repository as a link to it in the
   repository (galaxy.yml's repository); a link to a file that does not exist stops the build;
3. sphinx-build -W --keep-going with conf.py, index.rst and ansible_labels.rst of this directory: every
   reference, every page and every heading anchor a guide links to must resolve, or the build fails.
No network access (no intersphinx)."""

import pathlib
import re
import shutil
import subprocess
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
SITE = pathlib.Path(__file__).resolve().parent
OUT = ROOT / "build" / "docs"
GUIDES = ["README.md"] + ["docs/%s.md" % name for name in (
    "usage", "variables", "tls", "engines", "failover", "check", "data-safety", "operations", "rotation", "keepalived",
    "lifecycle", "upgrades", "backups", "observability", "validation", "benchmarks", "benchmarks-history",
    "drill-tool", "contributing", "group-model")]
LINK = re.compile(r"(\]\()([^)\s]+)(\))")


def _rewrite(source, text, repository):
    """The guide's Markdown with each relative link pointing into the site or into the repository."""
    guides = {(ROOT / guide).resolve(): pathlib.Path(guide).name for guide in GUIDES}
    broken = []

    def link(match):
        target = match.group(2)
        if re.match(r"^[a-z][a-z0-9+.-]*:|^#", target):
            return match.group(0)
        path, _, anchor = target.partition("#")
        resolved = (ROOT / source).parent.joinpath(path).resolve()
        if not resolved.exists() or ROOT not in resolved.parents:
            broken.append(target)
            return match.group(0)
        if resolved in guides:
            new = guides[resolved] + ("#" + anchor if anchor else "")
        else:
            new = "%s/blob/main/%s%s" % (repository, resolved.relative_to(ROOT), "#" + anchor if anchor else "")
        return match.group(1) + new + match.group(3)
    result = LINK.sub(link, text)
    if broken:
        sys.exit("%s: links to files that do not exist: %s" % (source, ", ".join(broken)))
    return result


def main():
    repository = yaml.safe_load((ROOT / "galaxy.yml").read_text())["repository"].rstrip("/")
    rst = OUT / "rst"
    shutil.rmtree(OUT, ignore_errors=True)
    rst.mkdir(parents=True, mode=0o755)
    subprocess.run(["antsibull-docs", "collection", "--use-current", "--dest-dir", str(rst),
                    "redis_ha.sentinel_vip"], check=True)
    for name in ("conf.py", "index.rst", "ansible_labels.rst"):
        shutil.copy(SITE / name, rst / name)
    (rst / "guides").mkdir()
    for guide in GUIDES:
        text = _rewrite(guide, (ROOT / guide).read_text(), repository)
        (rst / "guides" / pathlib.Path(guide).name).write_text(text)
    subprocess.run(["sphinx-build", "-q", "-W", "--keep-going", "-b", "html", "-c", str(rst), str(rst),
                    str(OUT / "html")], check=True)
    print("docs site: %s" % (OUT / "html" / "index.html"))


if __name__ == "__main__":
    main()
