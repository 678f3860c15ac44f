# Two commands do all set-up on a fresh machine with Python 3.11+:
#   make demo   - the main job: train the reference nets, check them, catch planted slips
#   make test   - everything: lint, types, tests, and the tests again on the oldest versions
#                 that pyproject.toml allows (make test-oldest)
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest test-oldest bench sweep docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,plot]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m reference_nets

lint: $(STAMP)
	$(PY) -m ruff check gradcheck reference_nets tests benchmarks .ci
	$(PY) -m ruff format --check gradcheck reference_nets tests benchmarks .ci

typecheck: $(STAMP)
	$(PY) -m mypy

pytest: $(STAMP)
	$(PY) -m pytest

# The tests again in a second venv, with numpy, jaxtyping, beartype and the test extra at the
# lower bounds of pyproject.toml (.ci/oldest_constraints.py), so that no bound is claimed
# untested. Lint and types run in the main venv only.
OLDEST       := .venv-oldest
OLDEST_PY    := $(OLDEST)/bin/python
OLDEST_STAMP := $(OLDEST)/.installed

$(OLDEST_STAMP): pyproject.toml .ci/oldest_constraints.py
	rm -rf $(OLDEST)
	$(PYTHON) -m venv $(OLDEST)
	$(OLDEST_PY) -m pip install --quiet --upgrade pip
	$(PYTHON) .ci/oldest_constraints.py > $(OLDEST)/constraints.txt
	$(OLDEST_PY) -m pip install --quiet -c $(OLDEST)/constraints.txt -e '.[test]'
	touch $(OLDEST_STAMP)

test-oldest: $(OLDEST_STAMP)
	$(OLDEST_PY) -m pip list --format=freeze | grep -i -E '^(numpy|jaxtyping|beartype|pytest|hypothesis|sybil)=='
	$(OLDEST_PY) -m pytest

test: lint typecheck pytest test-oldest

# Benchmarks (not part of test): about 7 minutes (8 under load); writes docs/benchmarks.md and
# docs/img/bench_cost.png. The bench extra (scipy, numdifftools) has its own stamp.
BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(PY) -m pip install --quiet -e '.[dev,plot,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(PY) benchmarks/bench_all.py

# Verdict sweeps (not part of test; about 8 minutes, most of it the error maps of the 760
# multi-parameter bugs): correct gradients of the reference nets
# in float64, float32 and float16 (508 checks; float16 on a subset, its gradients given both as
# arrays and as a function), counting false alarms and unchecked (inconclusive) parameters;
# 248 checks of one-parameter bugs (64 float16 bugs, both ways) and 760 of bugs in two or
# three parameters at once, each caught, inconclusive or missed. Then the diagnoses (about a
# minute): of every gradient that fails on the float64 one-parameter bugs and the test layers'
# planted bugs, how many end as a plain "mismatch" and which diagnoses contradict the known
# cause (--gradcheck DIR measures an older gradcheck on the same mutants); and 438 checks of
# independent noise in two gradients of a test layer, where "upstream" would be wrong. They print their
# tables; --out writes JSON.
sweep: $(STAMP)
	$(PY) benchmarks/sweep_verdicts.py
	$(PY) benchmarks/sweep_multi.py
	$(PY) benchmarks/sweep_diagnoses.py

# The documentation site: installs the docs extra, builds into site/ (offline; --strict
# fails on any warning). Not part of `make test`; the docs' examples are (tests/test_docs.py).
docs: $(STAMP)
	$(PY) -m pip install --quiet -e '.[docs]'
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict

clean:
	rm -rf $(VENV) $(OLDEST) .mypy_cache .pytest_cache .ruff_cache build dist
