"""Print the configuration reference (Markdown) from config_declaration.yaml.

`make config-reference` writes it to docs/configuration.md; a test checks
that the committed file matches, so the reference cannot go stale.
"""
from __future__ import annotations

import pathlib

import yaml

DECLARATION = (pathlib.Path(__file__).resolve().parent.parent
               / "ckanext/gelsenkirchen/config_declaration.yaml")


def render(declaration: dict) -> str:
    lines = [
        "# Configuration reference",
        "",
        "Generated from `ckanext/gelsenkirchen/config_declaration.yaml` by",
        "`make config-reference`; do not edit by hand.",
        "",
    ]
    for group in declaration.get("groups", []):
        lines += [f"## {group.get('annotation') or 'Options'}", "",
                  "| option | type | default | description |",
                  "| --- | --- | --- | --- |"]
        for option in group.get("options", []):
            default = option.get("default", "")
            default = "" if default is None else f"`{default}`"
            description = " ".join(str(option.get("description", "")).split())
            lines.append(f"| `{option['key']}` | {option.get('type', 'str')} | "
                         f"{default} | {description} |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    print(render(yaml.safe_load(DECLARATION.read_text(encoding="utf-8"))), end="")


if __name__ == "__main__":
    main()
