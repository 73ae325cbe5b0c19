"""A small model of the Fluent Bit features fluent-bit.conf uses, to run real log lines through
its rules in Python: the classic config format (sections, @INCLUDE, ${VAR}), tag matching, the
rewrite_tag and parser filters, the json parser with Time_Key, and the loki output's labels,
structured metadata, record-accessor key removal and line format.

Fluent Bit itself does not run here (no Debian package, no image without Docker), so this
follows its documented behaviour and plugins/out_loki/loki.c; anything the model does not
implement raises instead of being ignored.
"""

import json
import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ACCESSOR = re.compile(r"^\$([A-Za-z_][\w.-]*)$")


@dataclass
class Section:
    kind: str
    entries: list[tuple[str, str]] = field(default_factory=list)

    def get(self, key: str, default: str | None = None) -> str | None:
        values = self.get_all(key)
        return values[-1] if values else default

    def get_all(self, key: str) -> list[str]:
        return [v for k, v in self.entries if k == key.lower()]

    @property
    def name(self) -> str:
        return (self.get("name") or "").lower()


def parse_classic(
    path: Path,
    env: Mapping[str, str] | None = None,
    include: Callable[[str], Path] | None = None,
) -> list[Section]:
    """Sections of a classic-mode config file; keys lower-cased; @INCLUDE followed via include.

    With env given, every ${VAR} must be set in it (Fluent Bit would put an empty string).
    """
    sections: list[Section] = []
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("@INCLUDE"):
            if include is None:
                raise ValueError(f"{path}:{number}: @INCLUDE without a way to resolve it")
            sections.extend(parse_classic(include(line.split(None, 1)[1]), env, include))
            continue
        if line.startswith("["):
            sections.append(Section(line.strip("[]").strip().upper()))
            continue
        if not sections:
            raise ValueError(f"{path}:{number}: entry outside a section: {line}")
        key, _, value = line.partition(" ")
        value = value.strip()
        if env is not None:
            value = _substitute(value, env, f"{path}:{number}")
        sections[-1].entries.append((key.lower(), value))
    return sections


def _substitute(value: str, env: Mapping[str, str], where: str) -> str:
    def replace(match: re.Match[str]) -> str:
        if match.group(1) not in env:
            raise KeyError(f"{where}: ${{{match.group(1)}}} is not set")
        return env[match.group(1)]

    return _ENV.sub(replace, value)


def env_references(path: Path) -> set[str]:
    return set(_ENV.findall(path.read_text()))


def tag_matches(pattern: str, tag: str) -> bool:
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, tag) is not None


def _on(value: str | None) -> bool:
    return (value or "").lower() in {"on", "true", "yes", "1"}


@dataclass
class Event:
    tag: str
    record: dict[str, object]
    time: datetime | None = None


@dataclass
class LokiEntry:
    labels: dict[str, str]
    structured_metadata: dict[str, str]
    line: str
    time: datetime | None


@dataclass
class Parser:
    section: Section

    def parse(self, text: str) -> tuple[dict[str, object], datetime | None] | None:
        if (self.section.get("format") or "").lower() != "json":
            raise NotImplementedError(f"parser format {self.section.get('format')}")
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            return None
        if not isinstance(parsed, dict):
            return None
        time_key = self.section.get("time_key")
        when = None
        if time_key and time_key in parsed:
            when = _strptime(str(parsed[time_key]), self.section.get("time_format") or "")
            if not _on(self.section.get("time_keep")):
                del parsed[time_key]
        return parsed, when


def _strptime(text: str, fluent_format: str) -> datetime:
    """Fluent Bit's %L is the fractional second of any length; Python's %f takes up to six."""
    python_format = fluent_format.replace("%L", "%f")
    if "%L" in fluent_format:
        text = re.sub(r"\.(\d{6})\d+", r".\1", text)
    return datetime.strptime(text, python_format).replace(tzinfo=UTC)


class Pipeline:
    def __init__(self, sections: list[Section], parsers: list[Section]) -> None:
        self.filters = [s for s in sections if s.kind == "FILTER"]
        self.outputs = [s for s in sections if s.kind == "OUTPUT"]
        self.parsers = {p.get("name"): Parser(p) for p in parsers if p.kind == "PARSER"}

    def run(self, event: Event) -> list[tuple[Section, Event]]:
        """The events each output receives for one input event."""
        delivered = []
        for done in self._filter(event, 0):
            delivered.extend((out, done) for out in self.outputs if _matches(out, done.tag))
        return delivered

    def _filter(self, event: Event, start: int) -> list[Event]:
        for index in range(start, len(self.filters)):
            section = self.filters[index]
            if not _matches(section, event.tag):
                continue
            if section.name == "rewrite_tag":
                emitted, keep = self._rewrite_tag(section, event)
                # Re-emitted records enter through the filter's emitter input: all filters again.
                results = [r for e in emitted for r in self._filter(e, 0)]
                if keep:
                    results.extend(self._filter(event, index + 1))
                return results
            if section.name == "parser":
                event = self._parse(section, event)
                continue
            raise NotImplementedError(f"filter {section.name}")
        return [event]

    def _rewrite_tag(self, section: Section, event: Event) -> tuple[list[Event], bool]:
        for rule in section.get_all("rule"):
            key, regex, new_tag, keep = shlex.split(rule)
            value = _access(event.record, key)
            if value is not None and re.search(regex, str(value)):
                tag = new_tag.replace("$TAG", event.tag)
                return [Event(tag, dict(event.record), event.time)], _on(keep)
        return [], True

    def _parse(self, section: Section, event: Event) -> Event:
        key = section.get("key_name") or ""
        if key not in event.record:
            return event
        for name in section.get_all("parser"):
            result = self.parsers[name].parse(str(event.record[key]))
            if result is None:
                continue
            parsed, when = result
            if _on(section.get("reserve_data")):
                kept = {k: v for k, v in event.record.items()}
                if not _on(section.get("preserve_key")):
                    kept.pop(key)
                parsed = {**kept, **parsed}
            return Event(event.tag, parsed, when or event.time)
        return event


def _matches(section: Section, tag: str) -> bool:
    if section.get("match_regex"):
        return re.search(section.get("match_regex") or "", tag) is not None
    return tag_matches(section.get("match") or "", tag)


def _access(record: Mapping[str, object], accessor: str) -> object | None:
    match = _ACCESSOR.match(accessor)
    if match is None:
        raise NotImplementedError(f"record accessor {accessor}")
    return record.get(match.group(1))


_LOKI_UNMODELLED = {
    "label_keys",
    "label_map_path",
    "structured_metadata_map_keys",
    "drop_single_key",
    "auto_kubernetes_labels",
    "tenant_id_key",
}


def loki_entry(output: Section, event: Event) -> LokiEntry:
    """What out_loki sends to Loki for one event."""
    for key, _ in output.entries:
        if key in _LOKI_UNMODELLED:
            raise NotImplementedError(f"loki option {key}")
    record = dict(event.record)
    removed: set[str] = set()
    labels = _key_values(output.get("labels") or "", record, removed)
    metadata = _key_values(output.get("structured_metadata") or "", record, removed)
    removed.update(k.strip().lstrip("$") for k in (output.get("remove_keys") or "").split(","))
    line_record = {k: v for k, v in record.items() if k not in removed}
    if (output.get("line_format") or "json").lower() != "json":
        raise NotImplementedError(f"line_format {output.get('line_format')}")
    return LokiEntry(labels, metadata, json.dumps(line_record, separators=(",", ":")), event.time)


def _key_values(spec: str, record: Mapping[str, object], removed: set[str]) -> dict[str, str]:
    """labels / structured_metadata: "k=v", "k=$key" or "$key"; accessed keys leave the line."""
    result: dict[str, str] = {}
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        name, sep, value = item.partition("=")
        accessor = value if sep else name
        if sep and not value.startswith("$"):
            result[name] = value
            continue
        found = _access(record, accessor)
        removed.add(accessor.lstrip("$"))
        if found is not None and str(found) != "":
            result[name if sep else accessor.lstrip("$")] = str(found)
    return result
