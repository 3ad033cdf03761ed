"""Validates SARIF logs against a JSON schema: `validate.py SCHEMA LOG...`.

Prints `ok LOG` for a valid log, else each error with its JSON path, and
exits 1 when any log is invalid (crates/custody/tests/it/scan.rs).
"""

import json
import sys

import jsonschema


def main() -> int:
    schema_path, *logs = sys.argv[1:]
    with open(schema_path, encoding="utf-8") as f:
        schema = json.load(f)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema)
    failed = False
    for path in logs:
        with open(path, encoding="utf-8") as f:
            log = json.load(f)
        errors = sorted(validator.iter_errors(log), key=lambda e: e.json_path)
        for e in errors:
            print(f"{path}: {e.json_path}: {e.message}")
        if errors:
            failed = True
        else:
            print(f"ok {path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
