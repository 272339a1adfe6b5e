# Two entry points; the real work lives in scripts/ so that CI (.ci/run) and
# machines without make run exactly the same commands.
# Extra arguments: make test ARGS='-k inbox -x'   /   make run ARGS='--port 8080'
.PHONY: run test

run:
	bash scripts/run.sh $(ARGS)

test:
	bash scripts/test.sh $(ARGS)
