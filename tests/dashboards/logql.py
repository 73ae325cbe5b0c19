"""LogQL read with Grafana's own grammar (@grafana/lezer-logql, the parser Grafana's query
editor uses), run by Node.js from tests/dashboards/logql/ (`make tools` installs it there)."""

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

PARSER_DIR = Path(__file__).resolve().parent / "logql"
# Field references in line_format / label_format templates: {{ .event }}, eq .kind "...".
TEMPLATE_FIELD = re.compile(r"\.([A-Za-z_]\w*)")
QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')  # string literals inside a template


@dataclass(frozen=True)
class Node:
    type: str
    text: str


@dataclass(frozen=True)
class Matcher:
    name: str
    operator: str
    value: str


@dataclass(frozen=True)
class ParsedQuery:
    query: str
    errors: list[str]  # the text around each syntax error; empty when the query parses
    nodes: list[Node]  # depth-first, parents before children

    def selectors(self) -> list[list[Matcher]]:
        """Each stream selector's matchers: {name op "value", ...}."""
        found: list[list[Matcher]] = []
        for node in self.nodes:
            if node.type == "Selector":
                found.append([])
            elif node.type == "Matcher" and found and node.text in self._selector_text():
                found[-1].append(_matcher(node.text))
        return found

    def _selector_text(self) -> str:
        return " ".join(n.text for n in self.nodes if n.type == "Selector")

    def extracted_fields(self) -> set[str]:
        """Names read from a line's parsed JSON: label filters after the selector, grouping
        labels, and template fields."""
        selector = self._selector_text()
        fields: set[str] = set()
        for index, node in enumerate(self.nodes):
            if node.type == "Matcher" and node.text not in selector:
                fields.add(_matcher(node.text).name)
            elif node.type == "Grouping":
                fields.update(n.text for n in self._children(index, "Identifier"))
            elif node.type in {"LineFormatExpr", "LabelFormatExpr"}:
                fields.update(TEMPLATE_FIELD.findall(QUOTED.sub("", node.text)))
        return fields

    def _children(self, index: int, node_type: str) -> list[Node]:
        parent = self.nodes[index].text
        return [n for n in self.nodes[index + 1 :] if n.type == node_type and n.text in parent]


def _matcher(text: str) -> Matcher:
    match = re.fullmatch(r'\s*(\w+)\s*(=~|!~|!=|=)\s*(?:"(.*)"|`(.*)`)\s*', text, re.DOTALL)
    assert match, f"not a matcher: {text}"
    return Matcher(match[1], match[2], match[3] if match[3] is not None else match[4])


def parse(queries: list[str]) -> list[ParsedQuery]:
    node = shutil.which("node")
    if node is None or not (PARSER_DIR / "node_modules").is_dir():
        raise RuntimeError(
            "the LogQL checks need Node.js and `npm ci` in tests/dashboards/logql (make tools)"
        )
    result = subprocess.run(
        [node, str(PARSER_DIR / "parse.mjs")],
        input=json.dumps(queries),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    parsed = []
    for item in json.loads(result.stdout):
        query = item["query"]
        parsed.append(
            ParsedQuery(
                query,
                [query[max(0, start - 10) : end + 10] for start, end in item["errors"]],
                [Node(kind, query[start:end]) for kind, start, end in item["nodes"]],
            )
        )
    return parsed
