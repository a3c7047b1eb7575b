# Kotally — the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install lint bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ needed"'
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## make run: local SQLite, eager tasks, dev billing, demo data, http://127.0.0.1:8000
## (and a fresh embed sandbox token unless EMBED_SANDBOX_TOKEN is set; seed_demo prints its URL)
run: $(STAMP)
	DJANGO_DEBUG=True $(BIN)/python manage.py migrate --noinput
	export DJANGO_DEBUG=True \
	  EMBED_SANDBOX_TOKEN="$${EMBED_SANDBOX_TOKEN:-$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(18))')}"; \
	$(BIN)/python manage.py seed_demo && $(BIN)/python manage.py runserver 127.0.0.1:8000

## make test: the whole suite. With DATABASE_URL/REDIS_URL set it uses PostgreSQL/Redis.
test: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## make bench: production-like load benchmark (~10 min); BENCH_QUICK=1 for a 1-2 min smoke run
bench: $(STAMP)
	BENCH_QUICK=$(BENCH_QUICK) $(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) db.sqlite3 test-output
