# The three doors: run, test, bench.
.PHONY: run test bench setup clean

HOST ?= 127.0.0.1
PORT ?= 8080
DATA ?= data

run:
	bash scripts/setup.sh run
	.venv/bin/supporthost run --data $(DATA) --host $(HOST) --port $(PORT)

test:
	bash scripts/setup.sh test
	.venv/bin/python -m pytest -q $(PYTEST_ARGS)

bench:
	bash scripts/setup.sh test
	.venv/bin/python -m bench $(BENCH_ARGS)

clean:
	rm -rf .venv data .pytest_cache
