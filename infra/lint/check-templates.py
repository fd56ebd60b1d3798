#!/usr/bin/env python3
"""Runs cfn-lint (with the serverless rules) and checkov on the generated templates and fails on
any finding that infra/lint/allowlist.yaml does not list with its reason, and on any allow-list
entry that no longer matches a finding (so the list cannot go stale)."""

import fnmatch
import json
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ["template.yaml"] + sorted(str(p.relative_to(ROOT)) for p in (ROOT / "infra/stacks").glob("*.yaml"))


def cfn_lint():
    out = subprocess.run(
        ["cfn-lint", "--format", "json", "--append-rules", "cfn_lint_serverless.rules", "--", *TEMPLATES],
        cwd=ROOT, capture_output=True, text=True,
    )
    if out.returncode not in (0, 2, 4, 6, 8, 10, 12, 14) and not out.stdout.strip().startswith("["):
        sys.exit(f"cfn-lint did not run: {out.stderr}")
    for m in json.loads(out.stdout or "[]"):
        path = m.get("Location", {}).get("Path") or []
        resource = path[1] if len(path) > 1 and path[0] == "Resources" else "-"
        yield ("cfn-lint", m["Rule"]["Id"], Path(m["Filename"]).name, resource, m["Message"])


def checkov():
    out = subprocess.run(
        ["checkov", "--framework", "cloudformation", "--quiet", "--compact", "-o", "json", "--skip-download",
         *sum((["-f", t] for t in TEMPLATES), [])],
        cwd=ROOT, capture_output=True, text=True,
    )
    reports = json.loads(out.stdout or "[]")
    if isinstance(reports, dict):
        reports = [reports]
    if not reports and out.returncode not in (0, 1):
        sys.exit(f"checkov did not run: {out.stderr}")
    for report in reports:
        for f in report.get("results", {}).get("failed_checks", []):
            resource = f["resource"].split(".", 1)[-1]
            yield ("checkov", f["check_id"], Path(f["file_path"]).name, resource, f["check_name"])


def main():
    allow = yaml.safe_load((ROOT / "infra/lint/allowlist.yaml").read_text())
    for entry in allow:
        if not entry.get("reason", "").strip():
            sys.exit(f"allow-list entry {entry['tool']} {entry['id']} has no reason")
    used = [0] * len(allow)
    refused = []
    total = 0
    for tool, rule, file, resource, message in [*cfn_lint(), *checkov()]:
        total += 1
        for i, entry in enumerate(allow):
            if (entry["tool"] == tool and entry["id"] == rule
                    and any(fnmatch.fnmatch(resource, p) for p in entry.get("resources", ["*"]))):
                used[i] += 1
                break
        else:
            refused.append(f"{tool} {rule} {file} {resource}: {message}")
    for tool, rule, n in sorted({(e["tool"], e["id"], used[i]) for i, e in enumerate(allow)}):
        print(f"  allowed {n:>4}  {tool} {rule}")
    stale = [f"{e['tool']} {e['id']} {e.get('resources', ['*'])}" for i, e in enumerate(allow) if used[i] == 0]
    for s in stale:
        print(f"stale allow-list entry (matches nothing): {s}")
    for r in refused:
        print(f"not allowed: {r}")
    print(f"{total} findings, {total - len(refused)} allowed with a reason, {len(refused)} not allowed")
    sys.exit(1 if refused or stale else 0)


if __name__ == "__main__":
    main()
