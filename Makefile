# The README's commands. `make run`: set up everything, build the index of corpus/, start the service.
# `make test`: set up everything and run the whole test suite (what CI runs).
.PHONY: install index run test lint format clean

install:
	scripts/bootstrap.sh install

index:
	scripts/bootstrap.sh index

run:
	scripts/bootstrap.sh run

test:
	scripts/bootstrap.sh test

lint: install
	.venv/bin/ruff check rag tests ui
	.venv/bin/ruff format --check rag tests ui
	.venv/bin/mypy
	.venv/bin/lint-imports

format: install
	.venv/bin/ruff format rag tests ui
	.venv/bin/ruff check --fix rag tests ui

clean:
	rm -rf .venv index/builds index/CURRENT .pytest_cache .mypy_cache .ruff_cache
