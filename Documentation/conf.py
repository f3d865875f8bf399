# SPDX-License-Identifier: GPL-2.0
# Sphinx configuration of crossfence's documentation: `make docs` builds it
# into out/docs with Debian's python3-sphinx, warnings as errors.
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "sphinxext"))

project = "crossfence"
root_doc = master_doc = "index"
extensions = ["kerneldoc"]
# kernel-doc directives name C files relative to the top of the tree.
kerneldoc_srctree = os.path.dirname(here)
exclude_patterns = ["sphinxext"]
highlight_language = "none"
html_theme = "alabaster"
html_title = "crossfence"
