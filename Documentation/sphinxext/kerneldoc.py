# SPDX-License-Identifier: GPL-2.0
"""crossfence's own ``kernel-doc`` directive for Sphinx.

Sphinx does not know the kernel's ``.. kernel-doc::`` directive (the kernel
runs its scripts/kernel-doc for it). This is a small implementation of the
part crossfence uses, written for this tree::

    .. kernel-doc:: drivers/gpu/drm/vkms/vkms_crtc.c
       :doc: the vblank, the latch and the simulated scan-out

inserts the text of the ``DOC: TITLE`` comment of that file, and::

    .. kernel-doc:: drivers/dma-buf/fence_core.c
       :export:

the kernel-doc comment of every function the file exports with
``EXPORT_SYMBOL*()``, in the order of the exports (an export without one
is left out). Without an option, every kernel-doc comment of the file is
inserted (the structures and inline functions of a header).

Paths are relative to the top of the tree (``kerneldoc_srctree`` in
conf.py). In the comment text, ``@name`` (a parameter), ``func()``,
``&struct name``, ``&name.member`` and ``%CONSTANT`` are shown as code, as
kernel-doc highlights them; the rest is reStructuredText, with ``*``,
``|``, backquotes and word-final ``_`` taken literally, and blank lines
added around lists (C comments seldom have them).
"""
import os
import re

from docutils import nodes
from docutils.parsers.rst import Directive, directives
from docutils.statemachine import ViewList

COMMENT = re.compile(r"/\*\*[ \t]*\n(.*?)\*/", re.S)
EXPORT = re.compile(r"^EXPORT_SYMBOL(?:_GPL)?\((\w+)\)", re.M)
PARAM = re.compile(r"^@(\w+(?:\.\.\.)?|\.\.\.)\s*:\s*(.*)$")
SECTION = re.compile(r"^(Return|Returns|Context|Note|Notes|Example)s?:\s*(.*)$")
# &struct name, &name.member, @param->member, %CONSTANT, function()
HIGHLIGHTS = [re.compile(r"&(?:struct|enum|union|typedef) \w+"),
              re.compile(r"[&@]\w+(?:(?:\.|->)\w+)*"),
              re.compile(r"%\w+"),
              re.compile(r"\b\w+\(\)")]


def escape(text):
    """Plain comment text: no emphasis, substitution or reference markup."""
    return re.sub(r"([*|`]|_(?!\w))", r"\\\1", text)


def highlight(line):
    """Kernel-doc's highlights as reST literals, the rest escaped."""
    out, pos, spans = [], 0, []
    for rx in HIGHLIGHTS:
        for m in rx.finditer(line):
            if not any(m.start() < e and s < m.end() for s, e, _ in spans):
                spans.append((m.start(), m.end(), m.group(0).lstrip("&@%")))
    for s, e, text in sorted(spans):
        out.append(escape(line[pos:s]))
        if s and (line[s - 1].isalnum() or line[s - 1] == "_"):
            out.append("\\ ")
        out.append("``%s``" % text)
        if e < len(line) and (line[e].isalnum() or line[e] == "_"):
            out.append("\\ ")
        pos = e
    out.append(escape(line[pos:]))
    return "".join(out)


ITEM = re.compile(r"^(\s*)(?:-|\d+\.)\s")


def blank_around_lists(lines):
    """Comments write lists right after a paragraph line and go on right
    after the last item; reST wants a blank line on each side."""
    out, marker = [], None
    for l in lines:
        indent = len(l) - len(l.lstrip())
        item = ITEM.match(l)
        if l and out and out[-1]:
            if item and marker is None:
                out.append("")
            elif marker is not None and not item and indent <= marker:
                out.append("")
        if item:
            marker = len(item.group(1))
        elif not l or indent <= (marker if marker is not None else -1):
            marker = None
        out.append(l)
    return out


def comments(text):
    """(first line number, lines, end offset) of each /** comment."""
    for m in COMMENT.finditer(text):
        lines = []
        for raw in m.group(1).split("\n"):
            raw = raw.strip(" \t")
            if raw.startswith("*"):
                raw = raw[1:]
                raw = raw[1:] if raw[:1] in (" ", "\t") else raw
            lines.append(raw.expandtabs(8).rstrip())
        while lines and not lines[-1]:
            lines.pop()
        lines = blank_around_lists(lines)
        yield text.count("\n", 0, m.start()) + 2, lines, m.end()


def render(lines, proto):
    """A kernel-doc comment (not a DOC: one) as reST lines."""
    title, _, purpose = lines[0].partition(" - ")
    out = [".. rubric:: ``%s``" % title.strip(), ""]
    if purpose:
        out += [highlight(purpose.strip()), ""]
    if proto:
        out += [".. code-block:: c", ""]
        out += ["   " + l for l in proto.splitlines()] + [""]
    params, body = [], []
    for l in lines[1:]:
        m = PARAM.match(l)
        if m:
            params.append([m.group(1), m.group(2)])
        elif params and not body and l[:1] in (" ", "\t") and l.strip():
            params[-1][1] += " " + l.strip()
        else:
            m = SECTION.match(l)
            body.append("**%s:** %s" % (m.group(1), highlight(m.group(2)))
                        if m else highlight(l))
    if params:
        kind = title.split()[0]
        out += ["**%s**" % ("Members" if kind in ("struct", "union", "enum")
                            else "Parameters"), ""]
        for p, desc in params:
            out += ["``%s``" % p, "   " + (highlight(desc) or "-"), ""]
    return out + body + [""]


def prototype(text, end):
    """The C declaration following a comment, up to its body or ';'."""
    m = re.compile(r"\s*(.*?)\s*[{;]", re.S).match(text, end)
    if not m or m.group(1).startswith(("struct ", "enum ", "union ",
                                       "typedef ", "#")):
        return None
    return m.group(1)


class KernelDoc(Directive):
    required_arguments = 1
    option_spec = {"doc": directives.unchanged_required,
                   "export": directives.flag}

    def run(self):
        env = self.state.document.settings.env
        path = self.arguments[0]
        full = os.path.join(env.config.kerneldoc_srctree, path)
        env.note_dependency(os.path.abspath(full))
        try:
            with open(full) as f:
                text = f.read()
        except OSError as e:
            raise self.error("kernel-doc: %s: %s" % (path, e.strerror))
        rst = ViewList()

        def add(lines, first):
            for i, l in enumerate(lines):
                rst.append(l, path, first + i)

        found = list(comments(text))
        if "doc" in self.options:
            want = self.options["doc"].strip()
            for first, lines, _ in found:
                if lines and lines[0] == "DOC: " + want:
                    add([highlight(l) for l in lines[1:]] + [""], first + 1)
                    break
            else:
                raise self.error("kernel-doc: no 'DOC: %s' in %s"
                                 % (want, path))
        else:
            docs = {}
            for first, lines, end in found:
                if lines and not lines[0].startswith("DOC:"):
                    title = lines[0].split(" - ")[0].strip()
                    title = re.sub(r"^(struct|enum|union|typedef)\s+", "",
                                   title)
                    name = re.split(r"[\s(]", title)[0]
                    docs[name] = (first, lines, prototype(text, end))
            names = (EXPORT.findall(text) if "export" in self.options
                     else list(docs))
            for name in names:
                if name in docs:
                    first, lines, proto = docs[name]
                    add(render(lines, proto), first)
        node = nodes.section()
        node.document = self.state.document
        self.state.nested_parse(rst, 0, node)
        return node.children


def setup(app):
    app.add_config_value("kerneldoc_srctree", "..", "env")
    app.add_directive("kernel-doc", KernelDoc)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
