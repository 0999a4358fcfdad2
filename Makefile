# Safehold: the two commands are `make run` and `make test` (see README.md).
# Options for run/demo go through the environment (SAFEHOLD_PORT, SAFEHOLD_DATA, …) or ARGS="--port 9000".
# The service is always started through bin/safehold, which sets its Node options.

SHELL := /bin/bash
NODE  ?= node
ARGS  ?=

# Debian packages the service uses, and the extra ones the tests use.
RUN_PACKAGES  := util-linux smartmontools restic e2fsprogs mergerfs samba attr psmisc inotify-tools
TEST_PACKAGES := $(RUN_PACKAGES) chromium smbclient xfsprogs btrfs-progs dosfstools

TS_SOURCES := $(shell find server system test bench -name '*.ts' 2>/dev/null) tsconfig.json
UI_SOURCES := $(shell find ui -path ui/dist -prune -o -type f -print 2>/dev/null)

.PHONY: run test demo bench torture build deps test-deps clean

## make run: install what is missing, build, and serve on port 8080 with data in ./var.
run: deps build
	bin/safehold serve $(ARGS)

## make demo: the same service on a simulated host (data in ./var/demo); plug with bin/safehold demo plug NAME.
demo: deps build
	bin/safehold serve --simulate --data ./var/demo $(ARGS)

## make test: install what the tests need (Chromium included) and run every test.
test: test-deps build
	bash test/run.sh

## make bench: the benchmarks of bench/ (results go in bench/README.md by hand).
bench: node_modules/.installed build
	$(NODE) dist/bench/service.bench.js
	$(NODE) --expose-gc --max-semi-space-size=1 --no-opt --no-sparkplug dist/bench/health.bench.js
	$(NODE) dist/bench/backup.bench.js
	$(NODE) dist/bench/pool.bench.js
	$(NODE) --max-semi-space-size=1 --no-opt --no-sparkplug dist/bench/hash.bench.js

## make torture: the long crash runs (1,000 kill -9 while duplicating); the last result goes in bench/README.md.
torture: test-deps build
	SAFEHOLD_CRASH_KILLS=1000 $(NODE) --test --test-timeout=14400000 dist/test/system/pool-crash.test.js

build: dist/.built ui/dist/index.html

deps: node_modules/.installed
	@bash deploy/install-deps.sh $(RUN_PACKAGES)

test-deps: node_modules/.installed
	@bash deploy/install-deps.sh $(TEST_PACKAGES)

node_modules/.installed: package.json package-lock.json
	@$(NODE) -e 'const [a, b] = process.versions.node.split(".").map(Number); if (a < 20 || (a === 20 && b < 11)) { console.error(`Safehold needs Node.js 20.11 or newer; this is ${process.version}. (Debian 12 ships Node 18: install Node 20 from the Node.js project.)`); process.exit(1); }'
	@# npm install, not npm ci: npm 11 leaves other platforms' optional binaries (rollup, esbuild) out of the
	@# lock file and npm ci then refuses it; npm install keeps the locked versions and fetches this platform's binaries.
	npm install --no-audit --no-fund --loglevel=error
	@touch $@

dist/.built: node_modules/.installed $(TS_SOURCES)
	npx tsc -p .
	@touch $@

ui/dist/index.html: node_modules/.installed $(UI_SOURCES)
	npx vite build --config ui/vite.config.ts --logLevel warn

clean:
	rm -rf dist ui/dist
