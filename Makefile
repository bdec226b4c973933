# The two commands a learner needs: `make lab` and `make test`. Both create .venv when it is missing or
# older than pyproject.toml, so a fresh clone needs nothing but Python 3.10-3.12 and git.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LAB_FLAGS := --notebook-dir=lessons --ServerApp.ip=127.0.0.1 \
	--LabApp.news_url=None --LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate \
	$(if $(filter 0,$(shell id -u)),--ServerApp.allow_root=True)
# Extra options for `make lab`, e.g. LAB_ARGS="--no-browser --ServerApp.port=8899".
LAB_ARGS ?=
PYTEST_ARGS ?=

.PHONY: venv lab test test-fast lint format student assignments benchmarks clean-venv

venv: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; sys.exit(0 if (3, 10) <= v <= (3, 12) else "This course needs Python 3.10, 3.11 or 3.12 (TensorFlow wheels); found %d.%d. Set PYTHON=python3.11, e.g. make lab PYTHON=python3.11." % v)'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q -e '.[lab,test,instructor]'
	$(BIN)/python -m ncf_helpers.setup_lab
	@touch $(STAMP)

lab: $(STAMP)
	$(BIN)/jupyter lab $(LAB_FLAGS) $(LAB_ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Lint (CI runs it before the tests): ruff's rules and formatting on the whole tree, and import-linter's contracts
# (the dependency direction core -> models -> ui -> lessons; [tool.importlinter] in pyproject.toml).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

# Apply ruff's fixes and formatting (then review the diff).
format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Quick loop while editing helpers: skips notebook execution and the browser test.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow and not browser" $(PYTEST_ARGS)

student: $(STAMP)
	$(BIN)/python -m ncf_helpers.student lessons/ student/

# Instructors: an nbgrader course in assignments/ (source/ and release/ of every lesson; lessons/INSTRUCTORS.md).
# One lesson: make assignments LESSONS_ONLY=04
LESSONS_ONLY ?=
assignments: $(STAMP)
	$(BIN)/python -m ncf_helpers.assignments tag --check lessons/
	$(BIN)/python -m ncf_helpers.assignments course lessons/ assignments/ $(if $(LESSONS_ONLY),--only $(LESSONS_ONLY))

benchmarks: $(STAMP)
	$(BIN)/python -m pip install --disable-pip-version-check -q -e '.[benchmarks]'
	@# speed.py and explorer.py compare with main before issue #15's training loop (a detached worktree)
	test -d ../wt-speed-base || git worktree add --detach ../wt-speed-base e2a5c1d
	for b in classic models speed explorer responsiveness comparison retrieval notebooks scale; do $(BIN)/python benchmarks/$$b.py || exit 1; done
	$(BIN)/python benchmarks/comparison.py --fast-synthetic

# The course site (static HTML of the executed lessons, default parameters) -> build/site/index.html. Reuses the
# executions benchmarks/notebooks.py saved in build/executed/default/ and executes what is missing or out of date.
.PHONY: site
site: $(STAMP)
	$(BIN)/python site/build.py $(SITE_ARGS)

clean-venv:
	rm -rf $(VENV)
