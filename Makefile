# eodkit's entry points. The README's quick start is `make demo` and
# `make check`; each installs what it needs (Debian packages), builds with
# CMake and fetches the demo data from Debian packages on first use.
BUILD := build
ASAN_BUILD := build-asan
BENCH_BUILD := build-bench
PYTHON := /usr/bin/python3
JOBS := $(shell nproc)
PREFIX := /usr/local
CMAKE_FLAGS := -DPython3_EXECUTABLE=$(PYTHON)

.PHONY: all build demo check check-release check-asan demo-data install bench bench-smoke fuzz clean

all: build

# Compile eodkit (without the tests, which need more packages).
build:
	@scripts/setup-deps.sh build
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEODKIT_TESTS=OFF $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

demo-data:
	@scripts/fetch-demo-data.sh

# Build the Olinda demo dataset and describe it.
demo: build demo-data
	$(BUILD)/eodkit build examples/olinda.yaml --overwrite -j $(JOBS)
	$(BUILD)/eodkit info examples/out/olinda

# Every test, on an optimised build and on an ASan+UBSan build.
check: check-release check-asan

check-release: demo-data
	@scripts/setup-deps.sh test
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEODKIT_TESTS=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

check-asan: demo-data
	@scripts/setup-deps.sh test
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DEODKIT_SANITIZE=ON -DEODKIT_TESTS=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  ctest --output-on-failure -j $(JOBS)

# Install under PREFIX the eodkit command, its world region layer
# (PREFIX/share/eodkit), the C library (libeodkit.so, include/eodkit,
# eodkit.pc; doc/api.md), the man pages and the Python package, offline:
# the package builds with Debian's setuptools and uses Debian's numpy (and
# python3-torch for eodkit.torch). With PREFIX=/usr/local, /usr/bin/python3
# imports it as is. The build is configured for PREFIX, where the command
# finds its world layer.
install: CMAKE_FLAGS += -DCMAKE_INSTALL_PREFIX=$(abspath $(PREFIX))
install: demo-data build
	cmake --install $(BUILD)
	$(PYTHON) -m pip install --no-build-isolation --no-deps --prefix $(PREFIX) ./python

# Benchmarks against the Python baselines users write today: the full size
# writes bench/RESULTS.md; bench-smoke is the small size CI runs (seconds).
# A Release build of its own; warnings do not stop a benchmark.
bench bench-smoke: demo-data
	@scripts/setup-deps.sh test
	@cmake -S . -B $(BENCH_BUILD) -DCMAKE_BUILD_TYPE=Release -DEODKIT_TESTS=OFF -DEODKIT_WERROR=OFF $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BENCH_BUILD) -j $(JOBS)
	$(PYTHON) bench/run $(if $(filter bench-smoke,$@),--smoke) --eodkit $(BENCH_BUILD)/eodkit

# Run every libFuzzer harness of tests/fuzz for FUZZ_SECONDS each (clang,
# ASan+UBSan), starting from its committed corpus and with its dictionary
# tests/fuzz/fuzz_<name>.dict when there is one; new inputs go to
# build-fuzz/corpus/<name>, crashes to build-fuzz/crash-*. `make check`
# replays the committed corpora without clang.
FUZZ_BUILD := build-fuzz
FUZZ_SECONDS := 60
fuzz: demo-data
	@scripts/setup-deps.sh fuzz
	@cmake -S . -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
	  -DEODKIT_SANITIZE=ON -DEODKIT_FUZZ=ON -DEODKIT_TESTS=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS)
	@set -e; for src in tests/fuzz/fuzz_*.c; do \
	  name=$$(basename $$src .c); corpus=$${name#fuzz_}; \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$corpus; \
	  dict=; if [ -f tests/fuzz/$$name.dict ]; then dict=-dict=$(CURDIR)/tests/fuzz/$$name.dict; fi; \
	  echo "fuzzing $$name for $(FUZZ_SECONDS) s"; \
	  (cd $(FUZZ_BUILD) && ./tests/fuzz/$$name $$dict -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
	    -rss_limit_mb=2048 corpus/$$corpus $(CURDIR)/tests/fuzz/corpus/$$corpus); \
	done

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) examples/out python/build python/eodkit.egg-info
