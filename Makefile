# The three doors: run, test, bench.
.PHONY: run test fuzz bench bench-chat bench-webacd bench-rtc bench-screen bench-filexfer bench-cobrowse bench-recording clean

HOST ?= 127.0.0.1
PORT ?= 8080
DATA ?= data

run:
	bash scripts/setup.sh run
	.venv/bin/supporthost run --data $(DATA) --host $(HOST) --port $(PORT)

# A test that fails is run once more before it counts as failed: these machines are shared and a
# browser, WebRTC or X test can miss a deadline under load. A real failure fails twice; reruns are listed.
# TEST_WORKERS pytest processes (pytest-xdist) share the test files: most tests wait on a browser, a socket or
# an X screen, so two keep a 2-core machine busy; every test has its own host, X screen and sound server.
TEST_WORKERS ?= 2
test:
	bash scripts/setup.sh test
	.venv/bin/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile --reruns 1 --reruns-delay 2 $(PYTEST_ARGS)

# The fuzz tests (tests/test_fuzz_*.py) with FUZZ_FACTOR (tests/fuzz_kit.py) times the examples of
# `make test`, random instead of derandomized; it stops by itself (docs/security.md, "Fuzzing in the suite").
fuzz:
	bash scripts/setup.sh test
	SUPPORTHOST_FUZZ=1 .venv/bin/python -m pytest -q -p no:cacheprovider --timeout 3600 tests/test_fuzz_*.py $(PYTEST_ARGS)

# Each benchmark stops by itself; results go to bench/results/ and docs/performance.md explains them.
# `setup.sh bench` is the test setup plus openssh-server, openssh-client and rsync (bench.filexfer compares
# with scp and rsync over loopback SSH). BENCH_ARGS go to the chat benchmark (e.g. --quick);
# `make bench-chat` etc. run one alone.
bench: bench-chat bench-webacd bench-rtc bench-screen bench-filexfer bench-cobrowse bench-recording

bench-chat:
	bash scripts/setup.sh bench
	.venv/bin/python -m bench $(BENCH_ARGS)

bench-webacd:
	bash scripts/setup.sh bench
	.venv/bin/python -m bench.webacd_routing

bench-rtc:
	bash scripts/setup.sh bench
	.venv/bin/python -m bench.rtc

bench-screen:
	bash scripts/setup.sh bench
	.venv/bin/python -m bench.screen_pipeline

bench-filexfer:
	bash scripts/setup.sh bench
	.venv/bin/python -m bench.filexfer

bench-cobrowse:
	bash scripts/setup.sh bench
	.venv/bin/python -m bench.cobrowse

bench-recording:
	bash scripts/setup.sh bench
	.venv/bin/python -m bench.recording_cost
	.venv/bin/python -m bench.recording_playback

clean:
	rm -rf .venv data .pytest_cache
