# The two commands of the README: `make demo` and `make test`. Both build .venv themselves.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed

.PHONY: demo test bench fuzz fuzz-c reliability conformance venv test-tools clean

# pip compiles the codec's optional C fast path (setup.py) when a C compiler is there. vendor/ holds the one
# dependency a machine whose package index is out of reach may not find in its local wheel mirror (vendor/README.md).
$(STAMP): pyproject.toml setup.py src/pmip6/wire/_speedups.c
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q --find-links vendor -e '.[test]'
	@$(BIN)/python -c "from pmip6.wire.mobility import SPEEDUPS; \
	  print('pmip6 codec:', 'C fast path' if SPEEDUPS else 'pure Python (the C extension did not build)')"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/pmip6 demo --pcap demo.pcap

# What the tests run besides Python: tshark, the independent oracle of the interop tests, ping, which
# docs/dataplane.md's "by hand" recipes use, udhcpc (BusyBox's DHCP client), a stock client for the MAG's DHCP
# server and relay, dnsmasq, a third-party DHCP server behind the relay, nft, the NAT router of walkthrough 29, and
# promtool, which lints the metrics as an operator's Prometheus would (Debian's prometheus package; its service is
# not started); installed when we may (root + apt), else their tests are skipped.
TEST_TOOLS := tshark:tshark ping:iputils-ping udhcpc:udhcpc dnsmasq:dnsmasq-base nft:nftables promtool:prometheus
test-tools:
	@missing=""; for tool in $(TEST_TOOLS); do \
	  command -v $${tool%%:*} >/dev/null 2>&1 || missing="$$missing $${tool#*:}"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing) \
	      >/dev/null || echo "installing$$missing failed: the tests that need them will be skipped"; \
	  else echo "missing and not root:$$missing: the tests that need them will be skipped"; fi; \
	fi

# Bytecode is written even where the environment sets PYTHONDONTWRITEBYTECODE (this development machine's does):
# else each collection rewrites every test module again (10 s instead of 2), and each daemon or CLI the tests start
# compiles pmip6 again. Four workers (pytest-xdist) on two cores: the suite mostly waits (daemons starting, timers,
# DHCP clients, namespaces), and --dist loadscope keeps each module on one worker, its module-scoped daemons started
# once. Every test's namespaces carry its worker's process id, so two workers never share one.
test: $(STAMP) test-tools
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -q -n 4 --dist loadscope

# Benchmarks print ratios against a baseline measured in the same run; bench/dataplane.py needs root.
bench: $(STAMP)
	$(BIN)/python bench/codec.py
	$(BIN)/python bench/signaling.py
	$(BIN)/python bench/dataplane.py
	$(BIN)/python bench/restart.py

# Decoder fuzzing at >= 1,000,000 inputs per target (long), and the bounded reliability report (< 3 min).
fuzz: $(STAMP)
	$(BIN)/python fuzz/run.py --budget large --jobs 2

# The codec's C fast path under AddressSanitizer + UBSan, fuzzed against the pure-Python codec (4 min).
fuzz-c: $(STAMP)
	bash fuzz/speedups_asan.sh 240

reliability: $(STAMP)
	$(BIN)/python fuzz/run.py --report

# Our LMA through the black-box conformance tester (also part of `make test`).
conformance: $(STAMP)
	$(BIN)/python -m pytest -q tests/conformance_tool

clean:
	rm -rf $(VENV) build src/*.egg-info src/pmip6/wire/*.so .pytest_cache .hypothesis
