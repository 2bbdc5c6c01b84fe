# Short entry points; each is a script in scripts/ that sets itself up.
.PHONY: up test check bench
up:    ; ./scripts/up
test:  ; ./scripts/test
check: ; ./scripts/check
bench: ; ./scripts/bench
