# revimg: `make demo` sets everything up and shows a real check; `make test` runs the tests;
# `make package-check` builds the sdist and the wheel and tries the wheel in a fresh venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_INDEX := demo-index
SUSPECTS := examples/suspects/*.jpg examples/suspects/*.webp
# build outputs and the fresh venv of package-check (ignored by git)
PKG := .package-check
# pip: errors only (a pip.conf's dead index locations would print a warning per package),
# no "new pip available" or "running as root" notices
PIP_ENV := PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore PIP_NO_INPUT=1

.PHONY: install demo test lint package-check bench-accuracy clean

$(STAMP): pyproject.toml
	@echo "installing revimg and its dev tools into $(VENV) (a minute the first time)..."
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(PIP_ENV) $(BIN)/python -m pip install --quiet --quiet --upgrade 'pip>=25.1'
	@$(PIP_ENV) $(BIN)/python -m pip install --quiet --quiet -e . --group dev
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	@rm -rf $(DEMO_INDEX) demo-report.html
	@echo "== indexing the example photos in examples/stock"
	@$(BIN)/revimg index build examples/stock --meta examples/stock-meta.csv --index $(DEMO_INDEX)
	@echo
	@echo "== checking the example suspects in examples/suspects"
	@code=0; $(BIN)/revimg check $(SUSPECTS) --index $(DEMO_INDEX) --no-online --format table \
		--report demo-report.html || code=$$?; \
	if [ $$code -ne 1 ]; then echo "demo failed: exit code $$code, expected 1 (a match)" >&2; exit 1; fi
	@$(BIN)/python .ci/expect_demo.py $(BIN)/revimg $(DEMO_INDEX)
	@echo "exit code 1: a likely match was found (0: none, 2: could not check)." \
		"Open demo-report.html in a browser to see each photo beside the photo it copies."

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check revimg tests benchmarks examples .ci
	$(BIN)/ruff format --check revimg tests benchmarks examples .ci

# The sdist, a wheel built from it, and that wheel alone in a fresh venv: `revimg --version`,
# every module imported, an index built and the example suspects found.
package-check: $(STAMP)
	@rm -rf $(PKG) && mkdir -p $(PKG)
	@echo "== building the sdist, then the wheel from the sdist"
	@$(BIN)/python -m build --outdir $(PKG)/dist . > $(PKG)/build.log 2>&1 \
		|| { cat $(PKG)/build.log; exit 1; }
	@$(BIN)/python .ci/check_dist.py $(PKG)/dist
	@echo "== installing the wheel into a fresh venv ($(PKG)/venv)"
	@$(PYTHON) -m venv $(PKG)/venv
	@$(PIP_ENV) $(PKG)/venv/bin/python -m pip install --quiet --quiet $(PKG)/dist/*.whl
	@cd $(PKG) && venv/bin/revimg --version
	@cd $(PKG) && venv/bin/python ../.ci/check_installed.py
	@$(PKG)/venv/bin/revimg index build examples/stock --meta examples/stock-meta.csv --index $(PKG)/index
	@$(PKG)/venv/bin/python .ci/expect_demo.py $(PKG)/venv/bin/revimg $(PKG)/index
	@echo "the installed wheel found the 4 example copies; unrelated.jpg matched nothing"

clean:
	rm -rf $(VENV) $(DEMO_INDEX) demo-report.html $(PKG) .pytest_cache .ruff_cache
