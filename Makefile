# Short entry points; each is a script in scripts/ that sets itself up (venv, packages, binaries).
.PHONY: up test check generate bench
up:       ; ./scripts/up
test:     ; ./scripts/test
check:    ; ./scripts/check
generate: ; ./scripts/generate
bench:    ; ./scripts/bench
