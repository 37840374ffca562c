"""`kinks rule CODE` and `kinks rule --all`: each rule's doc, in ruff's form, from the rule table."""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from typing import Any

from ..analysis.rules import RULES, Rule, rule_for
from .common import EXIT_OK, UsageError


def register(commands: Any) -> None:
    rule = commands.add_parser(
        "rule",
        help="explain a rule: what it does, why it is bad, an example, what to use instead",
        description="Print the documentation of a rule (by code, such as K201, or by name, such as kink).",
    )
    which = rule.add_mutually_exclusive_group(required=True)
    which.add_argument("code", nargs="?", metavar="CODE", help="a rule code (K201) or name (kink)")
    which.add_argument("--all", action="store_true", help="print every rule")
    rule.add_argument(
        "--output-format", choices=("text", "json"), default="text", help="text (default, Markdown) or json"
    )
    rule.set_defaults(run=run_rule)


def run_rule(arguments: argparse.Namespace) -> int:
    rules = list(RULES.values()) if arguments.all else [_find(arguments.code)]
    if arguments.output_format == "json":
        records = [_record(rule) for rule in rules]
        text = json.dumps(records if arguments.all else records[0], indent=2, ensure_ascii=False)
    else:
        text = "\n".join(rule.doc() for rule in rules).rstrip("\n")
    sys.stdout.write(text + "\n")
    return EXIT_OK


def _find(text: str) -> Rule:
    rule = rule_for(text)
    if rule is not None:
        return rule
    prefixed = [code for code in RULES if code.startswith(text.strip().upper())]
    if prefixed and text.strip():
        raise UsageError(f"`{text}` is a prefix, not a rule: it matches {', '.join(prefixed)}")
    names = [*RULES, *(rule.name for rule in RULES.values())]
    close = difflib.get_close_matches(
        text.upper() if text[:1].isalpha() and text[1:].isdigit() else text, names, n=1
    )
    hint = f"; did you mean {close[0]}?" if close else ""
    raise UsageError(f"unknown rule `{text}`{hint} (`kinks rule --all` lists every rule)")


def _record(rule: Rule) -> dict[str, Any]:
    return {
        "code": rule.code,
        "name": rule.name,
        "kind": rule.kind,
        "severity": rule.severity,
        "what_it_does": rule.what,
        "why_is_this_bad": rule.why,
        "example": rule.example,
        "use_instead": rule.instead,
        "explanation": rule.doc(),
    }
