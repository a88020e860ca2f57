#!/usr/bin/env python3
"""Write (or --check) the variable reference, docs/variables.md, from the roles' meta/argument_specs.yml."""

import pathlib
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- BEGIN VARIABLES (scripts/var-reference.py) -->", "<!-- END VARIABLES -->"


def _default(role, name):
    defaults = yaml.safe_load((ROOT / "roles" / role / "defaults" / "main.yml").read_text()) or {}
    if name not in defaults:
        return ""
    value = defaults[name]
    text = yaml.safe_dump(value, default_flow_style=True, width=1000).strip()
    text = text[:-4] if text.endswith("\n...") else text
    return "`%s`" % text.replace("|", "\\|")


def reference():
    out = []
    for role in ("redis", "sentinel", "keepalived", "metrics"):
        spec = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())
        options = spec["argument_specs"]["main"]["options"]
        out.append("## Role `%s`\n" % role)
        out.append("| variable | type | default | description |")
        out.append("| --- | --- | --- | --- |")
        for name, opt in options.items():
            kind = opt.get("type", "str")
            if kind == "list":
                kind = "list of %s" % opt.get("elements", "str")
            if opt.get("choices"):
                kind += " (%s)" % ", ".join(str(c) for c in opt["choices"])
            default = "**required**" if opt.get("required") else _default(role, name)
            if opt.get("no_log"):
                kind += ", secret"
            out.append("| `%s` | %s | %s | %s |" % (name, kind, default, opt["description"].replace("|", "\\|")))
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def main():
    page = ROOT / "docs" / "variables.md"
    text = page.read_text()
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    new = text[:start] + "\n" + reference() + text[end:]
    if "--check" in sys.argv:
        if new != text:
            print("docs/variables.md is out of date: run scripts/var-reference.py", file=sys.stderr)
            return 1
        return 0
    page.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
