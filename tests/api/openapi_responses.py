#!/usr/bin/env python3
"""Validates recorded real answers against the OpenAPI document rosterd serves.

Usage: openapi_responses.py OPENAPI_JSON RESPONSES_JSONL

RESPONSES_JSONL is what the API tests' HTTP client records with ROSTER_RECORD_RESPONSES set
(tests/api/rosterd_process.cpp): one {method, target, status, content_type, body?} per line.
Each answer must match an operation of the document (path template and method), a documented
status (or `default` for problems), a documented media type, and, for JSON, the schema of that
status and media type (JSON Schema 2020-12). Anything else is a failure: an answer the
document does not describe is drift. Needs python3-jsonschema (ops/deps.sh).
"""
import json
import re
import sys

from jsonschema import Draft202012Validator

# Requests the document cannot describe by design: CORS preflights are answered by the server
# for every path, and the test-only routes of rosterd_test are not part of the API.
SKIP_METHODS = {"OPTIONS"}
SKIP_PREFIXES = ("/test/",)


def template_regex(template):
    parts = re.split(r"(\{[^}/]+\})", template)
    return re.compile("^" + "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts) + "$")


def main():
    doc_path, responses_path = sys.argv[1], sys.argv[2]
    with open(doc_path, encoding="utf-8") as f:
        doc = json.load(f)
    # Literal templates first, so /v1/users/lookup wins over /v1/users/{u}.
    templates = sorted(doc["paths"], key=lambda t: t.count("{"))
    matchers = [(template_regex(t), t) for t in templates]
    validators = {}

    def validator(schema):
        key = json.dumps(schema, sort_keys=True)
        if key not in validators:
            # $refs are "#/components/schemas/X": give the schema the document's components as its root.
            validators[key] = Draft202012Validator(dict(schema, components=doc["components"]))
        return validators[key]

    failures = []
    checked = 0
    with open(responses_path, encoding="utf-8") as f:
        lines = [json.loads(line) for line in f if line.strip()]
    if not lines:
        print("no recorded answers: was the recording run skipped?", file=sys.stderr)
        return 1
    for rec in lines:
        method = rec["method"].upper()
        path = rec["target"].split("?", 1)[0]
        status = str(rec["status"])
        where = f"{method} {rec['target']} -> {status}"
        if method in SKIP_METHODS or path.startswith(SKIP_PREFIXES):
            continue
        if method == "HEAD":
            method = "GET"
        template = next((t for rx, t in matchers if rx.match(path)), None)
        op = doc["paths"].get(template, {}).get(method.lower()) if template else None
        if op is None:
            # The router's own answers for what it does not serve are problems.
            if status in ("404", "405", "400") and rec.get("body") is not None:
                response = {"content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
            else:
                failures.append(f"{where}: no operation in the document")
                continue
        else:
            response = op["responses"].get(status)
            if response is None:
                if status.startswith("2") or status.startswith("3") or status == "101":
                    failures.append(f"{where}: status not documented for {method.lower()} {template}")
                    continue
                response = op["responses"].get("default")
        content = response.get("content", {})
        media = rec["content_type"].split(";", 1)[0].strip()
        if rec["body_bytes"] == 0 and (not content or rec["method"].upper() == "HEAD"):
            checked += 1
            continue
        if media not in content:
            failures.append(f"{where}: media type {media!r} not documented (have {sorted(content)})")
            continue
        checked += 1
        if "body" not in rec:
            continue  # not JSON: the media type is what can be checked
        try:
            body = json.loads(rec["body"])
        except ValueError as e:
            failures.append(f"{where}: body is not JSON ({e})")
            continue
        errors = sorted(validator(content[media]["schema"]).iter_errors(body), key=lambda e: list(e.path))
        for e in errors[:3]:
            failures.append(f"{where}: {'/'.join(map(str, e.path)) or '(root)'}: {e.message}")
    print(f"{checked} recorded answers checked against {doc_path}, {len(failures)} failures")
    for msg in failures:
        print("  " + msg)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
