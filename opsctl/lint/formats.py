"""Rendering a :class:`~opsctl.lint.engine.LintReport`: text, JSON, GitHub annotations, JUnit XML.

Each renderer returns the whole output as one string for stdout. Paths are shown relative to
the project folder (``offline_script/recycle/x.py``), or for ``github`` to the workflow's
workspace when there is one, since that is what GitHub resolves ``file=`` against. Names that
are not valid UTF-8 or hold control characters are printed safely, never as raw bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from ..light import pattern

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)

if TYPE_CHECKING:
    from .rules import Finding, LintReport

FORMATS = ("text", "json", "github", "junit")

#: Characters a terminal, a log line or XML 1.0 must not receive raw from a file name: C0 and
#: C1 controls (a newline in a name would split a line of output) and XML's non-characters.
_CONTROL_RE = pattern(r"[\x00-\x1f\x7f-\x9f\ufffe\uffff]")


def shown(text: str) -> str:
    """``text`` safe to print: undecodable bytes and control characters become U+FFFD."""
    if text.isprintable():  # nearly always: one C scan, and done
        return text
    from ..catalogue import printable

    return _CONTROL_RE.sub("\ufffd", printable(text))


def render(fmt: str, report: LintReport, prefix: str, *, color: bool = False,
           changed: frozenset[str] | None = None) -> str:
    """The report in ``fmt``; ``prefix`` is prepended to root-relative paths; ``changed``
    (root-relative) are annotated first by ``github``."""
    if fmt == "github":
        return render_github(report, prefix, changed=changed)
    renderers: dict[str, Callable[[LintReport, str, bool], str]] = {
        "text": render_text, "json": render_json, "junit": render_junit,
    }
    return renderers[fmt](report, prefix, color)


def render_text(report: LintReport, prefix: str, color: bool = False) -> str:
    """Findings grouped by file, each with its code, severity, message and fix."""
    return "".join(text_parts(report, prefix, color))


def text_parts(report: LintReport, prefix: str, color: bool = False,
               per: int = 256) -> Iterator[str]:
    """:func:`render_text` a few hundred findings at a time, to be written as they are made:
    at thousands of findings, the text whole (then encoded whole) was megabytes."""
    from ..output import style as ansi

    def style(text: str, *styles: str) -> str:
        return ansi(text, *styles) if color else text

    lines: list[str] = []
    current: str | None = None
    for i, f in enumerate(report.findings, 1):
        if f.path != current:
            if current is not None:
                lines.append("\n")
            current = f.path
            lines.append(style(shown(prefix + f.path), "bold") + "\n")
        severity = style(f"{f.severity:<7}", "red" if f.severity == "error" else "yellow")
        where = f"line {f.line}: " if f.line else ""
        lines.append(f"  {f.code} {severity} {where}{shown(f.message)}\n")
        if f.fix:
            lines.append(style(f"                 fix: {shown(f.fix)}", "dim") + "\n")
        if i % per == 0:
            yield "".join(lines)
            lines = []
    if lines:
        yield "".join(lines)


def summary(report: LintReport, prefix: str) -> str:
    """One line for stderr: how many errors and warnings in how many files."""
    files = len({f.path for f in report.findings})
    scope = f"{report.checked:,} name{'s' if report.checked != 1 else ''} checked under " \
            f"{shown(prefix.rstrip('/') or '.')}"
    if not report.findings:
        text = f"no findings; {scope}"
    else:
        text = (f"{_count(report.errors, 'error')}, {_count(report.warnings, 'warning')} "
                f"in {_count(files, 'path')}; {scope}")
    if report.baselined:
        text += f"; {_count(report.baselined, 'more finding')} accepted by the baseline"
    return text


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def as_dict(f: Finding, prefix: str) -> dict[str, object]:
    return {"path": shown(prefix + f.path), "code": f.code, "rule": f.rule,
            "severity": f.severity, "message": shown(f.message),
            "fix": shown(f.fix) if f.fix else None, "line": f.line}


def render_json(report: LintReport, prefix: str, color: bool = False) -> str:
    """One JSON object: a summary and the findings, one finding per line.

    Written piecewise so each piece goes through the json module's C encoder (``indent=``
    would switch to the pure-Python one, ten times slower on a large legacy tree).
    """
    import json

    head = {
        "version": 1,
        "root": shown(prefix.rstrip("/") or "."),
        "checked": report.checked,
        "errors": report.errors,
        "warnings": report.warnings,
        "baselined": report.baselined,
    }
    lines = [f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}," for k, v in head.items()]
    findings = ",\n".join(f"    {json.dumps(as_dict(f, prefix), ensure_ascii=False)}"
                           for f in report.findings)
    body = f"[\n{findings}\n  ]" if findings else "[]"
    return "{\n" + "\n".join(lines) + f'\n  "findings": {body}\n}}\n'


def _gh_data(text: str) -> str:
    # The escaping GitHub's runner applies to workflow command data (actions/toolkit).
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_property(text: str) -> str:
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(report: LintReport, prefix: str, color: bool = False, *,
                  changed: frozenset[str] | None = None) -> str:
    """GitHub Actions workflow commands, one per finding, annotating the pull request:

    ``::error file=offline_script/recycle/x.py,title=OPS301 script-name::message (fix: ...)``

    A finding about a name has ``file=`` and no ``line=``; a content finding has both. GitHub
    shows the first ten errors and ten warnings of a step, so the changed files' findings come
    first, and errors before warnings.
    """
    lines = []
    for f in sorted(report.findings, key=lambda f: (
            changed is not None and f.path not in changed, f.severity != "error")):
        props = [f"file={_gh_property(shown(prefix + f.path))}"]
        if f.line:
            props.append(f"line={f.line}")
        props.append(f"title={_gh_property(f'{f.code} {f.rule}')}")
        message = shown(f.message) + (f" (fix: {shown(f.fix)})" if f.fix else "")
        lines.append(f"::{f.severity} {','.join(props)}::{_gh_data(message)}")
    return "".join(line + "\n" for line in lines)


def render_junit(report: LintReport, prefix: str, color: bool = False) -> str:
    """JUnit XML: one test case per file with findings, its errors as ``<failure>`` elements
    inside it and its warnings as its ``<system-out>``; one passing case when there is
    nothing to report. Valid against the Jenkins and Surefire schemas: a case is named by its
    file (``classname`` its folder), so names never repeat, whatever a file holds."""
    import xml.etree.ElementTree as ET

    by_path: dict[str, list[Finding]] = {}
    for f in report.findings:
        by_path.setdefault(f.path, []).append(f)
    cases: list[ET.Element] = []
    failed = 0
    for path, findings in by_path.items():
        folder, _, name = (prefix + path).rpartition("/")
        case = ET.Element("testcase", {"name": shown(name), "classname": shown(folder or "."),
                                       "time": "0"})
        errors = [f for f in findings if f.severity == "error"]
        for f in errors:
            failure = ET.SubElement(case, "failure", {"message": shown(f.message),
                                                      "type": f"{f.code} {f.rule}"})
            failure.text = _detail(f)
        failed += bool(errors)
        warnings = [f for f in findings if f.severity == "warning"]
        if warnings:
            out = ET.SubElement(case, "system-out")
            out.text = "\n".join(f"warning {f.code} {f.rule}: {_detail(f)}" for f in warnings)
        cases.append(case)
    if not cases:
        cases.append(ET.Element("testcase", {"name": "naming lint",
                                             "classname": "opsctl.lint", "time": "0"}))
    counts = {"tests": str(len(cases)), "failures": str(failed), "errors": "0",
              "skipped": "0", "time": "0"}
    suites = ET.Element("testsuites", {"name": "opsctl lint", **counts})
    suite = ET.SubElement(suites, "testsuite", {"name": "opsctl lint", **counts})
    suite.extend(cases)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + \
        ET.tostring(suites, encoding="unicode") + "\n"


def _detail(f: Finding) -> str:
    where = f"line {f.line}: " if f.line else ""
    return f"{where}{shown(f.message)}" + (f"\nfix: {shown(f.fix)}" if f.fix else "")
