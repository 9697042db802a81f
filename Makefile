# Ringside: the two commands are `make run` and `make test`.
GO        ?= go
BIN       := bin/ringside
HTTP      ?= 127.0.0.1:8080
ADMIN     ?= 127.0.0.1:8081
DNS       ?= 127.0.0.1:8053
HTTPS     ?= 127.0.0.1:8443
# Each fuzz target (every func FuzzXxx of the module) runs this long inside
# `make test` (a smoke run; run `make fuzz FUZZTIME=5m` for a real session).
FUZZTIME  ?= 3s
# nginx (the CDNs of the steering tests) lives in /usr/sbin on Debian.
export PATH := $(PATH):/usr/sbin:/sbin

.PHONY: all build run test vet unit fuzz bench clean package deploy-test terraform-test package-test faults

all: build

build:
	$(GO) build -o $(BIN) ./cmd/ringside

## run: live events on this machine: one node plus four ffmpeg encoders
## (HLS into "demo", LL-DASH/CMAF into the low-latency event "demo-ll", a
## primary and a backup into the redundant event "demo-backup").
run: build
	./scripts/ensure-ffmpeg
	./$(BIN) demo --http $(HTTP) --https $(HTTPS) --admin $(ADMIN) --dns $(DNS) --low-latency --backup

## test: vet, the whole suite under the race detector, fuzz smoke runs and
## the deploy checks (last: .ci/run builds OpenTofu for them meanwhile).
test: vet unit fuzz deploy-test

vet:
	$(GO) vet ./...

# -p 1: one package at a time, so the timing-sensitive cluster tests (gossip
# failure detection, 1,000-player stampedes) never starve each other of the
# two cores.
unit:
	./scripts/ensure-test-deps
	$(GO) test -race -count=1 -p 1 -timeout 20m ./...

## fuzz: every fuzz target of the module, FUZZTIME each.
fuzz:
	GO=$(GO) ./scripts/fuzz-smoke $(FUZZTIME)

## bench: the flash-crowd comparison with nginx and Varnish (bench/RESULTS.md)
## and the steering DNS throughput with dnsperf (bench/DNS-RESULTS.md).
bench: build
	./bench/run
	./bench/dnsperf

## package: the Debian package (dist/ringside_VERSION_ARCH.deb) with
## dpkg-deb: binary, hardened systemd unit, default config, ringside user.
package:
	GO=$(GO) ./deploy/package/build-deb dist

## deploy-test: the Terraform module's offline tests (when terraform or tofu
## is installed) and the .deb's build/inspect/install test.
deploy-test: terraform-test package-test

terraform-test:
	GO=$(GO) ./deploy/terraform/test

package-test:
	GO=$(GO) ./deploy/package/test-deb

## faults: the multi-host fault suite (root: network namespaces, a tmpfs):
## five `ringside node` processes, an origin and a client in namespaces,
## partitions, 200 ms RTT + 2% loss, an ingest restart, a full disk; the
## figures go to bench/FAULTS.md. About 2.5 minutes.
faults:
	./scripts/ensure-test-deps
	RINGSIDE_FAULTS=1 RINGSIDE_FAULTS_REPORT=$(CURDIR)/bench/FAULTS.md \
		$(GO) test -count=1 -timeout 8m -run TestFaults -v ./test/faults/

clean:
	rm -rf bin dist
