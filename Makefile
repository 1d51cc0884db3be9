# Sortie: `make run` starts the gateway on embedded defaults; `make test` installs and tests.
# Installs are recorded in .stamps/ so that a second run skips them.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMPS := .stamps
HOST   ?= 127.0.0.1
PORT   ?= 8000
S3_PORT ?= 9000
PYTEST_ARGS ?=

.PHONY: run test test-encrypted test-s3 s3-tests bench install install-test clean

install: $(STAMPS)/python
install-test: $(STAMPS)/python-test $(STAMPS)/node $(STAMPS)/servers

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMPS)/python: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/python-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	@mkdir -p $(STAMPS) && touch $@ $(STAMPS)/python

$(STAMPS)/node: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/servers: scripts/install-test-servers.sh
	scripts/install-test-servers.sh
	@mkdir -p $(STAMPS) && touch $@

run: install
	$(BIN)/sortie serve --host $(HOST) --port $(PORT) --s3-port $(S3_PORT)

# The conformance suite through the encryption layer over every rig, and the S3 front's real
# clients over every backend (tests/s3api/test_over_backends.py, about two minutes), are their
# own targets, so that `make test` stays near twelve minutes on two cores; .ci/run calls them all.
S3_CLIENTS = tests/s3api/test_over_backends.py

test: install-test
	SORTIE_ENCRYPTED_RIGS=0 $(BIN)/python -m pytest --ignore=$(S3_CLIENTS) $(PYTEST_ARGS)

test-encrypted: install-test
	SORTIE_ENCRYPTED_RIGS=only $(BIN)/python -m pytest tests/conformance $(PYTEST_ARGS)

# The S3 front: real clients (boto3, the AWS CLI, rclone) over every backend, then the ceph
# s3-tests suite (local backend, then Azurite) compared with the checked-in lists of expected
# failures (tests/s3api/ceph-expected-failures*.txt), in its own virtualenv, about five minutes
# each. `make s3-tests` runs the ceph suite alone.
test-s3: install-test
	SORTIE_ENCRYPTED_RIGS=0 $(BIN)/python -m pytest $(S3_CLIENTS) $(PYTEST_ARGS)
	$(MAKE) s3-tests

s3-tests: install-test
	$(BIN)/python scripts/s3-tests.py --backend local
	$(BIN)/python scripts/s3-tests.py --backend azurite

# Bytecode of Sortie's own packages, as an installed wheel has it: pip compiles site-packages
# but not an editable install, and with PYTHONDONTWRITEBYTECODE set every drill worker process
# would compile them again (measured: a few tenths of a second of CPU per process).
bench: install-test
	$(BIN)/python -m compileall -q adapters exit_drills service bench
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) node_modules $(STAMPS) .pytest_cache
