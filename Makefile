# The two commands: `make demo` and `make test`. Others: bench, soak, asyncapi, clean.
PY ?= python3
BIN := .venv/bin
STAMP := .venv/.installed-stamp
# MicroPython's ESP32 stubs stand in for CPython's standard library when the firmware is
# type-checked; they live apart from the venv so they never shadow CPython's.
TYPINGS := .typings/.installed-stamp

WEB := node_modules/.installed-stamp

.PHONY: demo test lint services web messages screenshots bench asyncapi clean

$(STAMP): pyproject.toml scripts/bootstrap-python.sh
	PY=$(PY) scripts/bootstrap-python.sh
	touch $(STAMP)

## the whole platform on embedded defaults with a simulated fleet
demo: $(STAMP) $(WEB)
	$(BIN)/smartoffice demo

## the front-end libraries from npm (package-lock.json), served by the server itself
$(WEB): package.json package-lock.json scripts/install-web.sh
	scripts/install-web.sh
	touch $(WEB)

web: $(WEB)

$(TYPINGS): $(STAMP)
	rm -rf .typings
	$(BIN)/pip install -q --target .typings 'micropython-esp32-stubs==1.29.*'
	touch $(TYPINGS)

services:
	scripts/ensure-services.sh

lint: $(STAMP) $(TYPINGS)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/mypy --config-file firmware/mypy.ini
	$(BIN)/lint-imports
	@# the structure the import contracts cannot see: every route's gate, tests mirroring modules
	$(BIN)/pytest -q -p no:xdist -p no:cacheprovider tests/web/test_routes.py tests/test_mirror.py \
		tests/server/auth/test_service.py::test_every_route_declares_who_may_call_it

## every check: lint, types, and the tests against private real services, one worker per
## core (each worker starts its own private services)
test: $(STAMP) $(WEB) services lint
	$(BIN)/pytest -n auto --dist worksteal

## throughput and latency of the data path (figures go in docs/benchmarks.md)
bench: $(STAMP) services
	$(BIN)/python -m bench.pipeline

asyncapi: $(STAMP)
	$(BIN)/python -m contracts.asyncapi > contracts/asyncapi.yaml

clean:
	rm -rf .venv .typings var .mypy_cache .ruff_cache .pytest_cache node_modules

## extract the strings to translate into the catalogues (then translate server/locale/id)
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg --no-default-keywords -k _ -k T -k N_ -k gettext:2 \
		--no-location --sort-output --omit-header \
		-o server/locale/messages.pot .
	$(BIN)/pybabel update -i server/locale/messages.pot -d server/locale -l id --no-fuzzy-matching --ignore-obsolete -w 100

## the user guide's screenshots (docs/images): the browser tests, and the consoles on the demo
screenshots: $(STAMP) $(WEB) services
	SMARTOFFICE_SCREENSHOTS=docs/images $(BIN)/pytest -q tests/web
	$(BIN)/python -m harness.demo_screenshots docs/images
