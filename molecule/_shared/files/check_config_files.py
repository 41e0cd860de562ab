"""Parse every file the glance role's config stage rendered into a folder: ini files with
configparser, YAML with PyYAML. Prints one line per file and exits non-zero when any file
does not parse.

Run with glance_svc's venv python (it has PyYAML through oslo.policy).
"""

import configparser
import pathlib
import sys

import yaml


def main(folder: str) -> int:
    failures = 0
    files = sorted(p for p in pathlib.Path(folder).iterdir() if p.is_file())
    if not files:
        print(f"no files in {folder}")
        return 1
    for path in files:
        try:
            if path.suffix in (".conf", ".ini"):
                parser = configparser.ConfigParser(interpolation=None, strict=True)
                with path.open() as handle:
                    parser.read_file(handle)
                detail = f"ini, {len(parser.sections())} sections"
            elif path.suffix in (".yaml", ".yml", ".json"):
                with path.open() as handle:
                    data = yaml.safe_load(handle)
                detail = f"yaml, {type(data).__name__}"
            else:
                print(f"SKIP {path.name}: not a config file")
                continue
        except Exception as exc:  # noqa: BLE001 - report every kind of parse failure
            failures += 1
            print(f"FAIL {path.name}: {exc}")
        else:
            print(f"ok   {path.name}: {detail}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "/etc/glance"))
