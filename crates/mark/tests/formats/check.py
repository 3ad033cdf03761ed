"""Reads marked files with each format's reference tool (tests/it/formats.rs).

Usage: check.py MANIFEST, where each line of MANIFEST is
`format<TAB>original<TAB>marked<TAB>mark token`. For each file the tool must
accept the marked file and find the same content as in the original (the
same AST, program output, data, entities, mesh, document tree). Prints
`ok <file name>` per file; exits non-zero on the first failure. A missing
tool fails under CI=true, else prints `NOT RUN <file name>: why`.
"""

import ast
import configparser
import html.parser
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
import xml.etree.ElementTree as ET
import zipfile

CI = os.environ.get("CI") == "true"


class Missing(Exception):
    pass


def need(tool):
    if shutil.which(tool) is None:
        raise Missing(f"{tool} is not installed (scripts/test installs it)")
    return tool


def run(args, cwd=None, stdin=None):
    r = subprocess.run(args, cwd=cwd, input=stdin, capture_output=True, timeout=120)
    if r.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} failed:\n{r.stderr.decode(errors='replace')}")
    return r.stdout


def read(p):
    with open(p, "rb") as f:
        return f.read()


def same_output(build_and_run, original, marked):
    a, b = build_and_run(original), build_and_run(marked)
    assert a == b, f"output differs:\n{a!r}\n{b!r}"


def compiled(compiler, flags):
    def go(path):
        with tempfile.TemporaryDirectory() as d:
            exe = os.path.join(d, "a.out")
            run([need(compiler), *flags, "-o", exe, path])
            return run([exe])
    return go


def check_python(o, m):
    a = ast.dump(ast.parse(read(o)))
    b = ast.dump(ast.parse(read(m)))
    assert a == b, "python AST differs"
    compile(read(m), m, "exec")


def check_java(o, m):
    def go(path):
        with tempfile.TemporaryDirectory() as d:
            run([need("javac"), "-d", d, path])
            return run([need("java"), "-cp", d, "sample.Main"])
    same_output(go, o, m)


TS_DIR = os.path.expanduser("~/.cache/custody/typescript")


def check_typescript(o, m):
    # TypeScript's own compiler: no syntax errors, then the emitted programs print the same.
    script = (
        "const ts = require(process.argv[1] + '/node_modules/typescript');"
        "const fs = require('fs');"
        "const src = fs.readFileSync(process.argv[2], 'utf8');"
        "const out = ts.transpileModule(src, {reportDiagnostics: true, compilerOptions: {target: ts.ScriptTarget.ES2020}});"
        "if (out.diagnostics.length) { console.error(JSON.stringify(out.diagnostics.map(d => d.messageText))); process.exit(1); }"
        "fs.writeFileSync(process.argv[3], out.outputText);"
    )
    if not os.path.exists(os.path.join(TS_DIR, "node_modules", "typescript")):
        raise Missing(f"typescript is not installed in {TS_DIR} (scripts/test installs it)")

    def go(path):
        js = path + ".js"
        run([need("node"), "-e", script, TS_DIR, path, js])
        return run([need("node"), js])

    same_output(go, o, m)


def check_sql(o, m):
    same_output(lambda p: run([need("sqlite3"), ":memory:"], stdin=read(p)), o, m)


def check_html(o, m):
    class Events(html.parser.HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.events = []

        def handle_starttag(self, tag, attrs):
            self.events.append(("start", tag, attrs))

        def handle_endtag(self, tag):
            self.events.append(("end", tag))

        def handle_data(self, data):
            self.events.append(("data", data))

        def handle_decl(self, decl):
            self.events.append(("decl", decl))

    def parse(p):
        e = Events()
        e.feed(read(p).decode())
        e.close()
        # Text between elements that is only white space is not content.
        return [x for x in e.events if not (x[0] == "data" and not x[1].strip())]

    assert parse(o) == parse(m), "html events differ"


def check_css(o, m):
    import tinycss2

    def parse(p):
        rules = tinycss2.parse_stylesheet_bytes(read(p), skip_comments=True, skip_whitespace=True)[0]
        errors = [r for r in rules if r.type == "error"]
        assert not errors, f"css parse errors: {errors}"
        return [r.serialize() for r in rules]

    assert parse(o) == parse(m), "css rules differ"


def check_yaml(o, m):
    import yaml

    assert yaml.safe_load(read(o)) == yaml.safe_load(read(m)), "yaml data differs"


def check_toml(o, m):
    assert tomllib.loads(read(o).decode()) == tomllib.loads(read(m).decode()), "toml data differs"


def check_ini(o, m):
    def load(p):
        c = configparser.ConfigParser()
        c.read_string(read(p).decode())
        return {s: dict(c[s]) for s in c.sections()}

    assert load(o) == load(m), "ini data differs"


def check_make(o, m):
    same_output(lambda p: run([need("make"), "-n", "-f", p], cwd=os.path.dirname(p)), o, m)


def check_dockerfile(o, m):
    from dockerfile_parse import DockerfileParser

    def load(p):
        d = DockerfileParser(path=p)
        # Parser directives are read only before any other comment: still first.
        assert d.lines[0].startswith("# syntax="), d.lines[0]
        return [(i["instruction"], i["value"]) for i in d.structure if i["instruction"] != "COMMENT"]

    assert load(o) == load(m), "dockerfile instructions differ"


def check_markup(o, m):
    # CommonMark (markdown-it-py, with tables): the marked file renders as the
    # original did, once the banner's paragraph and zero-width characters are taken out.
    import re
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark").enable("table")
    a = md.render(read(o).decode())
    b = md.render(read(m).decode().replace("\u200b", "").replace("\u200c", ""))
    b2 = re.sub(r"<p>Confidential: issued to .*?</p>\n", "", b, count=1, flags=re.S)
    assert b2 != b, "no banner paragraph"
    assert a == b2, "markdown renders differently"
    text = read(m).decode()
    assert "\u200b" in text or "\u200c" in text


def check_rst(o, m):
    # docutils: the same document title and body once the banner (last) and
    # zero-width characters are taken out, and no new warnings.
    import io
    import re
    import docutils.core

    def render(text):
        err = io.StringIO()
        parts = docutils.core.publish_parts(text, writer_name="html", settings_overrides={"warning_stream": err})
        return parts["title"], parts["body"], err.getvalue()

    a = render(read(o).decode())
    t, body, warnings = render(read(m).decode().replace("\u200b", "").replace("\u200c", ""))
    body2 = re.sub(r'<p>Confidential: issued to .*?</p>\n', "", body, count=1, flags=re.S)
    assert body2 != body, "no banner paragraph"
    assert a == (t, body2, warnings), "rst renders differently"


def check_prose(o, m):
    text = read(m).decode()
    assert "\u200b" in text or "\u200c" in text


def check_step(o, m):
    from steputils import p21

    def load(p):
        f = p21.readfile(p)
        header = [(e.name, e.params) for e in f.header.entities.values()]
        data = [(str(i.ref), str(i.entity)) for s in f.data for i in s.instances.values()]
        return header, data

    assert load(o) == load(m), "step entities differ"


def check_dxf(o, m):
    import ezdxf

    def load(p):
        doc = ezdxf.readfile(p)
        auditor = doc.audit()
        assert not auditor.has_errors, auditor.errors
        return [(e.dxftype(), str(e.dxf.all_existing_dxf_attribs())) for e in doc.modelspace()]

    assert load(o) == load(m), "dxf entities differ"


def check_stl(o, m):
    from stl import mesh
    import numpy

    a, b = mesh.Mesh.from_file(o), mesh.Mesh.from_file(m)
    assert len(a.vectors) == len(b.vectors) and numpy.array_equal(a.vectors, b.vectors), "stl mesh differs"


def check_xml(o, m):
    ET.parse(m)
    a = ET.canonicalize(from_file=o, with_comments=False, strip_text=True)
    b = ET.canonicalize(from_file=m, with_comments=False, strip_text=True)
    assert a == b, "xml tree differs"


def check_ooxml(o, m, token):
    with zipfile.ZipFile(m) as z:
        assert z.testzip() is None
        for n in z.namelist():
            if n.endswith(".xml") or n.endswith(".rels"):
                ET.fromstring(z.read(n))
        custom = z.read("docProps/custom.xml").decode()
        assert token in custom, "no mark token in custom properties"
    ext = m.rsplit(".", 1)[-1]
    if ext == "docx":
        import docx

        a, b = docx.Document(o), docx.Document(m)
        assert [p.text for p in a.paragraphs] == [p.text for p in b.paragraphs]
        for i, (sa, sb) in enumerate(zip(a.sections, b.sections)):
            before = [p.text for p in sa.footer.paragraphs] if sa.footer.is_linked_to_previous is False or i else []
            after = [p.text for p in sb.footer.paragraphs]
            # Every section shows the mark in its footer, after what it showed before.
            assert after[: len(before)] == before, (i, before, after)
            assert any(token in t for t in after), f"section {i} footer: {after}"
    elif ext == "xlsx":
        import openpyxl

        a, b = openpyxl.load_workbook(o), openpyxl.load_workbook(m)
        assert [list(ws.values) for ws in a] == [list(ws.values) for ws in b]
        props = {p.name: p.value for p in b.custom_doc_props}
        assert props.get("Custody mark") == token, props
        for ws in b:
            assert token in (ws.oddFooter.center.text or ""), ws.oddFooter.center.text
    elif ext == "pptx":
        import pptx

        a, b = pptx.Presentation(o), pptx.Presentation(m)
        text = lambda p: [[s.text_frame.text for s in sl.shapes if s.has_text_frame] for sl in p.slides]
        assert text(a) == text(b)
        for master in b.slide_masters:
            marks = [s for s in master.shapes if s.has_text_frame and token in s.text_frame.text]
            assert len(marks) == 1, "no mark on the slide master"
            ids = [s.shape_id for s in master.shapes]
            assert len(ids) == len(set(ids)), f"shape ids repeat: {ids}"


CHECKS = {
    "python": check_python,
    "c": lambda o, m: same_output(compiled("gcc", ["-std=c11", "-Wall", "-Werror", "-Wno-unused-function"]), o, m),
    "cpp": lambda o, m: same_output(compiled("g++", ["-std=c++17", "-Wall"]), o, m),
    "rust": lambda o, m: same_output(compiled("rustc", ["--edition=2021", "-A", "warnings"]), o, m),
    "java": check_java,
    "javascript": lambda o, m: (run([need("node"), "--check", m]), same_output(lambda p: run([need("node"), p]), o, m)),
    "shell": lambda o, m: (run([need("bash"), "-n", m]), same_output(lambda p: run([need("sh"), p]), o, m)),
    "perl": lambda o, m: (run([need("perl"), "-c", m]), same_output(lambda p: run([need("perl"), p]), o, m)),
    "typescript": check_typescript,
    "ruby": lambda o, m: (run([need("ruby"), "-c", m]), same_output(lambda p: run([need("ruby"), p]), o, m)),
    "php": lambda o, m: (run([need("php"), "-l", m]), same_output(lambda p: run([need("php"), p]), o, m)),
    "lua": lambda o, m: (run([need("luac5.4"), "-p", m]), same_output(lambda p: run([need("lua5.4"), p]), o, m)),
    "sql": check_sql,
    "css": check_css,
    "html": check_html,
    "yaml": check_yaml,
    "toml": check_toml,
    "ini": check_ini,
    "makefile": check_make,
    "dockerfile": check_dockerfile,
    "prose": check_prose,
    "markdown": check_markup,
    "rst": check_rst,
    "step": check_step,
    "dxf": check_dxf,
    "stl": check_stl,
    "svg": check_xml,
    "xml": check_xml,
}


def main():
    failed = False
    for line in read(sys.argv[1]).decode().splitlines():
        fmt, original, marked, token = line.split("\t")
        name = os.path.basename(marked)
        try:
            if fmt == "ooxml":
                check_ooxml(original, marked, token)
            else:
                CHECKS[fmt](original, marked)
            print(f"ok {name}", flush=True)
        except (Missing, ImportError) as e:
            if CI:
                print(f"FAILED {name}: {e}", flush=True)
                failed = True
            else:
                print(f"NOT RUN {name}: {e}", flush=True)
        except Exception as e:  # noqa: BLE001 - every failure is reported by file
            print(f"FAILED {name}: {type(e).__name__}: {e}", flush=True)
            failed = True
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
