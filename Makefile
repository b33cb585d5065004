# Set-up and checks. Every target creates what it needs; nothing is assumed installed but python3.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY310 ?= $(shell p=$$(ls -d $$HOME/.pyenv/versions/3.10*/bin/python3.10 2>/dev/null | head -n1); [ -n "$$p" ] && echo "$$p" || command -v python3.10)
PIP_FLAGS ?= --disable-pip-version-check -q
# Home Assistant (its discovery schemas validate ours) needs Python 3.13; the newest 3.13 found.
PY313 ?= $(shell p=$$(ls -d $$HOME/.pyenv/versions/3.13*/bin/python3.13 2>/dev/null | sort -V | tail -n1); [ -n "$$p" ] && echo "$$p" || command -v python3.13)
HA_VENV ?= .venv-ha

.PHONY: demo run test mosquitto ha-venv test-unit test-py310 test-arm64 lint bench soak clean help

help:
	@echo "make demo       run the bundled demo (runtime dependencies only)"
	@echo "make test       install dev (+ web) + convert dependencies and run the test suite"
	@echo "make test-py310 unit tests on Python 3.10 with Bookworm's numpy 1.24 pins (Jetson / Pi OS Bookworm)"
	@echo "make test-arm64 Pi OS Bookworm 64-bit under qemu: the README's Pi recipe, arm tests, detections vs x86 (root, ~20 min)"
	@echo "make ha-venv    .venv-ha: Python 3.13 with the pinned homeassistant, whose schemas validate our discovery (make test runs it)"
	@echo "make lint       ruff (check and format) and mypy"
	@echo "make bench      benchmarks in tools/bench (needs ../shared/assets; convert_speed needs tools/demo/make_demo.py first)"
	@echo "make soak       service soak: SOAK_MINUTES (30) on a looping clip, broker restarted every SOAK_BROKER_RESTART_S (300)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install $(PIP_FLAGS) --upgrade pip

$(VENV)/.runtime: pyproject.toml | $(BIN)/python
	$(BIN)/pip install $(PIP_FLAGS) -e .
	touch $@

# The suite converts small checkpoints, so it installs the [convert] extra (TensorFlow, CPU torch: ~3.7 GB);
# [dev] pulls [web] (waitress, prometheus_client) for the web view's tests.
$(VENV)/.dev: pyproject.toml constraints/convert.txt | $(BIN)/python
	$(BIN)/pip install $(PIP_FLAGS) -e '.[dev,convert]' -c constraints/convert.txt
	touch $@

demo: $(VENV)/.runtime
	$(BIN)/edgecv run

test: $(VENV)/.dev mosquitto ha-venv
	$(BIN)/python -m pytest -q

# The MQTT tests run a real broker, the unit tests systemd-analyze, the clock tests libfaketime, the stream
# tests GStreamer's RTSP server in the system python3 (test pattern: plugins-base; VP8: plugins-good), the
# web view's page test a headless Chromium.
# Installed when missing and we are root on Debian/Ubuntu; else say how (those tests skip without them).
mosquitto:
	@missing=""; \
	command -v mosquitto >/dev/null || test -x /usr/sbin/mosquitto || missing="mosquitto"; \
	command -v systemd-analyze >/dev/null || missing="$$missing systemd"; \
	command -v faketime >/dev/null || missing="$$missing faketime"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	/usr/bin/python3 -c "import gi; gi.require_version('GstRtspServer', '1.0'); gi.require_version('Gst', '1.0'); \
	  from gi.repository import Gst; Gst.init(None); assert Gst.ElementFactory.find('vp8enc')" 2>/dev/null || \
	  missing="$$missing python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	  else echo "tests need:$$missing: sudo apt-get update && sudo apt-get install -y$$missing"; fi; \
	fi

# tests/mqtt/test_ha_discovery.py validates every discovery config of a real run with Home Assistant's own
# MQTT discovery code (tools/ha/validate_discovery.py), in a venv of its own: Home Assistant needs Python 3.13,
# edgecv runs on 3.10+. Pinned by constraints/homeassistant.txt; --no-compile: the validator imports a few
# hundred of its thousands of modules. 57-73 s and 487 MB from PyPI on a 2-core machine (no pip cache), once:
# a stamp. Without Python 3.13, say how to get one (the test skips).
ha-venv:
	@if [ -n "$(PY313)" ] && $(PY313) -c 'import sys; assert sys.version_info >= (3, 13)' 2>/dev/null; then \
	  $(MAKE) --no-print-directory $(HA_VENV)/.ha; \
	else echo "Python 3.13 not found: the Home Assistant discovery test skips (pyenv install 3.13, or apt-get install python3.13 python3.13-venv)"; fi

$(HA_VENV)/.ha: constraints/homeassistant.txt
	rm -rf $(HA_VENV)
	$(PY313) -m venv $(HA_VENV)
	$(HA_VENV)/bin/pip install $(PIP_FLAGS) --no-compile homeassistant paho-mqtt -c constraints/homeassistant.txt
	touch $@

# mypy reads its files and strictness from [tool.mypy] in pyproject.toml.
lint: $(VENV)/.dev
	$(BIN)/ruff check edgecv tests tools
	$(BIN)/ruff format --check edgecv tests tools
	$(BIN)/mypy

$(VENV)-py310/.dev: pyproject.toml constraints/bookworm.txt
	@test -n "$(PY310)" || { echo "python3.10 not found (pyenv install 3.10)"; exit 1; }
	$(PY310) -m venv $(VENV)-py310
	$(VENV)-py310/bin/pip install $(PIP_FLAGS) -e '.[dev]' -c constraints/bookworm.txt
	touch $@

test-py310: $(VENV)-py310/.dev
	$(VENV)-py310/bin/python -c "import numpy, sys; assert numpy.__version__.startswith('1.24.'), numpy.__version__; print('python', sys.version.split()[0], 'numpy', numpy.__version__)"
	$(VENV)-py310/bin/python -m pytest -q -p no:cacheprovider tests

# Raspberry Pi OS Bookworm under qemu-user: a Debian 12 rootfs (cached in ~/.cache/edgecv, keyed by its
# recipe), the README's Pi recipe, the architecture-sensitive tests, detections compared with this
# machine's. Root; installs qemu-user-static and debootstrap when missing. tools/pi/stage.sh says more.
test-arm64: $(VENV)/.dev
	HOST_PYTHON=$(BIN)/python bash tools/pi/stage.sh arm64

bench: $(VENV)/.dev
	@for b in $(filter-out tools/bench/peers.py,$(wildcard tools/bench/*.py)); do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# Not EDGECV_ variables: the config loader rejects unknown ones. The report lands in SOAK_REPORT.
soak: $(VENV)/.dev
	SOAK_REPORT=$${SOAK_REPORT:-soak-report.json} $(BIN)/python -m pytest -q -s -m slow tests/service/test_soak.py

clean:
	rm -rf $(VENV) $(VENV)-py310 $(HA_VENV) build *.egg-info

# edgecv convert's slow tests: issue 15's accuracy self-check (YOLOv5n calibrated on one half of the shared
# COCO photos, scored on the other, both ways: at most 1.5 mAP50-95 points below float) and full conversions
# of the Ultralytics fixtures with --io uint8 / --int16-activations. About 2 minutes; needs ../shared/assets.
.PHONY: test-convert-slow
test-convert-slow: $(VENV)/.dev
	$(BIN)/python -m pytest -q -m slow tests/convert
