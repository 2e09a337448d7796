# revimg: `make demo` sets everything up and shows a real check; `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_INDEX := demo-index

.PHONY: install demo test lint bench-accuracy clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e . --group dev
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	rm -rf $(DEMO_INDEX)
	$(BIN)/revimg index build examples/stock --meta examples/stock-meta.csv --index $(DEMO_INDEX)
	@echo
	@echo "== checking the example suspects (exit code 1 means: a likely match was found)"
	$(BIN)/revimg check examples/suspects/*.jpg examples/suspects/*.webp --index $(DEMO_INDEX) --format table \
		--report demo-report.html; \
		code=$$?; echo "exit code $$code (open demo-report.html in a browser to see the evidence)"; \
		test $$code -eq 1

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check revimg tests benchmarks examples
	$(BIN)/ruff format --check revimg tests benchmarks examples

clean:
	rm -rf $(VENV) $(DEMO_INDEX) demo-report.html .pytest_cache .ruff_cache
