# Thin wrapper: install what is missing, configure a preset, build, run.
# Everything real lives in CMakeLists.txt and CMakePresets.json.
PRESET ?= default
BUILD  := build/$(PRESET)
JOBS   ?= $(shell nproc)

.PHONY: all deps configure build test test-all demo bench replay-bench fuzz-bench asan coverage clean

all: build

deps:
	@bash scripts/deps.sh

configure: deps
	@cmake --preset $(PRESET) >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

# The README's test command: the whole ctest suite of one preset.
test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The PVSCSI examples (disk + CD-ROM, LUN hotplug, verified workload), the
# PVUSB ones (a desk: stick, keyboard, serial, unplug and re-plug; every class),
# a recorded run replayed from its trace alone, then the platform
# self-test. Images are created under examples/images/, the trace in
# $(BUILD)/demo/.
demo: build
	@for c in examples/pvscsi-*.cfg examples/pvusb-*.cfg; do \
		$(BUILD)/sim/run/xpvsim run $$c || exit 1; echo; done
	@mkdir -p $(BUILD)/demo
	@$(BUILD)/sim/run/xpvsim run examples/pvscsi-disk-cdrom.cfg \
		--trace $(BUILD)/demo/disk-cdrom.pcap >/dev/null
	@$(BUILD)/sim/run/xpvsim replay $(BUILD)/demo/disk-cdrom.pcap; echo
	@$(BUILD)/tests/support/xpv-selftest --seed 1 --requests 10000

# The PVSCSI benchmark (README "Benchmark"): simulated IOPS and MB/s,
# notifications and host CPU per command. Images go to bench/images/.
bench: build
	@$(BUILD)/sim/run/xpvsim bench bench/*.cfg

# Replay speed (README "Traces"): two example runs recorded to
# bench/traces/, then replayed, next to a bare libpcap loop over the files.
replay-bench: build
	@mkdir -p bench/traces
	@for c in pvscsi-workload pvusb-desk; do \
		$(BUILD)/sim/run/xpvsim run examples/$$c.cfg \
			--trace bench/traces/$$c.pcap >/dev/null || exit 1; done
	@$(BUILD)/sim/run/xpvsim replay-bench bench/traces/*.pcap

# Fuzz sessions per second on one core (fuzz/README.md), without
# sanitizers (default preset) and with ASan + UBSan (asan-opt preset).
fuzz-bench: build
	@cmake --preset asan-opt >/dev/null
	@cmake --build build/asan-opt --target fuzz_scsifront_bench
	@$(BUILD)/fuzz/fuzz_scsifront_bench --seconds 10
	@build/asan-opt/fuzz/fuzz_scsifront_bench --seconds 10

asan:
	@$(MAKE) --no-print-directory test PRESET=asan

coverage:
	@$(MAKE) --no-print-directory test PRESET=coverage

clean:
	rm -rf build
