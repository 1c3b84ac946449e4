"""Dump the CloudFormation resource schemas berth generates types from.

Run by `cargo xtask codegen` with the pinned cfn-lint's Python (the same cfn-lint that judges berth's
templates), so the generated types, enums and GetAtt attributes are exactly what cfn-lint knows.
Reads the type names from argv and writes one JSON document to stdout.
"""

import json
import sys

import cfnlint
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

REGION = "us-east-1"


def main() -> None:
    types = {}
    for type_name in sys.argv[1:]:
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(REGION, type_name)
        types[type_name] = {
            "schema": schema.schema,
            "getatts": dict(schema.get_atts),
        }
    json.dump(
        {"cfn_lint_version": cfnlint.version.__version__, "region": REGION, "types": types},
        sys.stdout,
        sort_keys=True,
    )


if __name__ == "__main__":
    main()
