"""Print pip constraints that pin the runtime and test dependencies to pyproject's lower bounds.

    python .ci/oldest_constraints.py > constraints.txt
    pip install -c constraints.txt -e '.[test]'

`make test-oldest` runs the tests against these versions, so every `>=` in pyproject.toml's
`dependencies` and `test` extra is a version that CI installs and tests.
"""

import re
import sys
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
# "name[extra]>=1.2" or "name >= 1.2, <3": the name and the lower bound.
LOWER_BOUND = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*>=\s*([^,;\s]+)")


def oldest_pins(pyproject: Path = PYPROJECT) -> list[str]:
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    requirements = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    pins = []
    for requirement in requirements:
        match = LOWER_BOUND.match(requirement)
        if match is None:
            sys.exit(f"{pyproject}: {requirement!r} has no '>=' lower bound to test; add one")
        pins.append(f"{match[1]}=={match[2]}")
    return pins


if __name__ == "__main__":
    print("\n".join(oldest_pins()))
