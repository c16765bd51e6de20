"""Defence in depth on what a customer's page sends: rrweb events are checked for shape, and snapshots and
mutations lose what could run code in the rep's console (the replay iframe is sandboxed without scripts as
well): ``<script>`` elements become inert ``<template>`` elements, ``on*`` attributes, ``srcdoc`` and
``http-equiv`` are dropped, and so is any attribute whose value is a ``javascript:``/``vbscript:`` or
``data:text/html`` address. Walks without recursion (a page may nest deeply)."""
from __future__ import annotations

import re

ELEMENT = 2          # rrweb serialized node type of an element
FULL_SNAPSHOT = 2    # rrweb event types
INCREMENTAL = 3
META = 4
MUTATION = 0         # rrweb incremental source of DOM mutations
EVENT_TYPES = range(0, 7)
DROPPED_ATTRIBUTES = {"srcdoc", "http-equiv", "formaction"}
_SPACES = re.compile(r"[\x00-\x20]+")
_BAD_URL = ("javascript:", "vbscript:", "data:text/html", "data:application/xhtml")


class BadEvents(ValueError):
    """The page sent something that is not a batch of rrweb events."""


def check_events(events) -> list:
    """The batch when every item is an rrweb event (an object with a numeric type and timestamp, and an
    object ``data`` when it has one); else BadEvents saying what is wrong."""
    if not isinstance(events, list) or not events:
        raise BadEvents("\"e\" must be a non-empty list of rrweb events")
    for i, ev in enumerate(events):
        if not isinstance(ev, dict):
            raise BadEvents(f"event {i} is not an object")
        kind, at = ev.get("type"), ev.get("timestamp")
        if type(kind) is not int or kind not in EVENT_TYPES:
            raise BadEvents(f"event {i} has no rrweb event type")
        if type(at) not in (int, float):
            raise BadEvents(f"event {i} has no numeric timestamp")
        if "data" in ev and not isinstance(ev["data"], dict):
            raise BadEvents(f"event {i}: data must be an object")
    return events


def bad_value(value) -> bool:
    """Whether an attribute value is an address that would run code."""
    if not isinstance(value, str) or ":" not in value:
        return False
    return _SPACES.sub("", value[:64]).lower().startswith(_BAD_URL)


def clean_attributes(attributes: dict) -> int:
    """Drop the attributes that could run code; returns how many went."""
    gone = [name for name, value in attributes.items()
            if not isinstance(name, str) or name.lower().startswith("on") or name.lower() in DROPPED_ATTRIBUTES
            or bad_value(value)]
    for name in gone:
        del attributes[name]
    return len(gone)


def clean_nodes(root) -> int:
    """Make a serialized node tree (rrweb-snapshot) inert, in place; returns how many things were removed."""
    removed = 0
    todo = [root]
    while todo:
        node = todo.pop()
        if not isinstance(node, dict):
            continue
        if node.get("type") == ELEMENT:
            tag = node.get("tagName")
            if not isinstance(tag, str) or tag.lower() == "script":
                node["tagName"] = "template"
                node["attributes"] = {}
                removed += 1
            attributes = node.get("attributes")
            if isinstance(attributes, dict):
                removed += clean_attributes(attributes)
            elif "attributes" in node:
                node["attributes"] = {}
        children = node.get("childNodes")
        if isinstance(children, list):
            todo.extend(children)
    return removed


def clean_events(events: list) -> int:
    """Sanitise a checked batch in place (full snapshots and DOM mutations); returns what was removed."""
    removed = 0
    for ev in events:
        data = ev.get("data")
        if not isinstance(data, dict):
            continue
        if ev["type"] == FULL_SNAPSHOT:
            removed += clean_nodes(data.get("node"))
        elif ev["type"] == INCREMENTAL and data.get("source") == MUTATION:
            for add in data.get("adds") or []:
                if isinstance(add, dict):
                    removed += clean_nodes(add.get("node"))
            for change in data.get("attributes") or []:
                if isinstance(change, dict) and isinstance(change.get("attributes"), dict):
                    removed += clean_attributes(change["attributes"])
    return removed


def starts_snapshot(events: list) -> int | None:
    """Index of the event a viewer can start from (the Meta before a full snapshot, or the full snapshot), or
    None when the batch holds no full snapshot."""
    for i, ev in enumerate(events):
        if ev["type"] == FULL_SNAPSHOT:
            return i - 1 if i > 0 and events[i - 1]["type"] == META else i
    return None
