# The two commands: `make demo` and `make test`. Others: bench, soak, asyncapi, clean.
PY ?= python3
BIN := .venv/bin
STAMP := .venv/.installed-stamp
# MicroPython's ESP32 stubs stand in for CPython's standard library when the firmware is
# type-checked; they live apart from the venv so they never shadow CPython's.
TYPINGS := .typings/.installed-stamp

.PHONY: demo test lint services bench asyncapi clean

$(STAMP): pyproject.toml scripts/bootstrap-python.sh
	PY=$(PY) scripts/bootstrap-python.sh
	touch $(STAMP)

## the whole platform on embedded defaults with a simulated fleet
demo: $(STAMP)
	$(BIN)/smartoffice demo

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

## every check: lint, types, and the tests against private real services, one worker per
## core (each worker starts its own private services)
test: $(STAMP) services lint
	$(BIN)/pytest -n auto

## throughput and latency of the data path (figures go in docs/benchmarks.md)
bench: $(STAMP) services
	$(BIN)/python -m bench.pipeline

asyncapi: $(STAMP)
	$(BIN)/python -m contracts.asyncapi > contracts/asyncapi.yaml

clean:
	rm -rf .venv .typings var .mypy_cache .ruff_cache .pytest_cache
