"""JUnit XML, as CI servers parse it: one ``<testcase>`` per loss or gate, failures carrying the
numbers."""

from __future__ import annotations

import re

from .values import check_text, interval_text, json_text, key_text, params_text, said, slice_verdict


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


def _xml_text(text: str) -> str:
    """Text XML 1.0 can hold: characters it forbids (ESC, NUL, ...) written as ``\\x1b``."""
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))


def junit_xml(suite: str, cases: list[dict]) -> str:
    """JUnit XML as CI servers parse it: <testsuites><testsuite><testcase> with <failure> carrying
    the numbers. Each case: {"name", "classname", "failure": None | (message, details), "error":
    the same, for a case that could not be evaluated, "skipped": why a case was not judged (a
    slice too small to gate), "output": text for <system-out>}. The suite
    carries the run's start (``timestamp``) and wall time (``time``, seconds); a case its own
    time where it was timed on its own (``render.Timing``)."""
    import xml.etree.ElementTree as ET

    from datetime import datetime

    from . import TIMING, Timing

    timing = TIMING.get() or Timing()
    failures = sum(1 for c in cases if c.get("failure"))
    errors = sum(1 for c in cases if c.get("error"))
    skipped = sum(1 for c in cases if c.get("skipped"))
    seconds = f"{timing.seconds:.3f}"
    root = ET.Element("testsuites", name="losscli", tests=str(len(cases)), failures=str(failures),
                      errors=str(errors), time=seconds)
    ts = ET.SubElement(root, "testsuite", name=suite, tests=str(len(cases)), failures=str(failures),
                       errors=str(errors), skipped=str(skipped), time=seconds,
                       timestamp=datetime.fromtimestamp(timing.started).isoformat(timespec="seconds"))
    for c in cases:
        tc = ET.SubElement(ts, "testcase", classname=c["classname"], name=_xml_text(c["name"]))
        if c["name"] in timing.cases:
            tc.set("time", f"{timing.cases[c['name']]:.3f}")
        for kind, type_ in (("failure", "LossCheckFailed"), ("error", "LossCheckError")):
            if c.get(kind):
                message, details = c[kind]
                f = ET.SubElement(tc, kind, message=_xml_text(message), type=type_)
                f.text = _xml_text(details)
        if c.get("skipped"):
            ET.SubElement(tc, "skipped", message=_xml_text(c["skipped"]))
        if c.get("output"):
            ET.SubElement(tc, "system-out").text = _xml_text(c["output"])
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def compute(payload: dict, context: dict) -> str:
    limit = context.get("fail_above")
    cases = []
    for r in payload["results"]:
        gate = r.get("gate")  # --fail-above: the loss's verdict
        failed = gate is not None and not gate["passed"]
        cases.append({"classname": "losscli.compute", "name": f"{r['loss']} ({params_text(r['params'])})",
                      "failure": (f"{r['loss']} = {gate['measured']!r} > --fail-above {limit!r}",
                                  json_text(r)) if failed else None,
                      "output": f"value={_number(r['value'])} count={r['count']}"
                                + ("" if gate is None else f" --fail-above {limit!r}: {'FAIL' if failed else 'PASS'}")})
        cases += [slice_case("losscli.compute", f"{r['loss']} ({params_text(r['params'])})", sl,
                             f"{r['loss']} = {sl['value'] if r['value'] is not None else sl['stats']['max']!r} > "
                             f"--fail-above {limit!r}") for sl in r.get("slices", [])]
    return junit_xml("compute", cases)


def slice_case(classname: str, name: str, sl: dict, message: str) -> dict:
    """One slice's testcase (``NAME [region=EU]``), failed when its gate failed, skipped when it
    is too small to rank or gate."""
    verdict = slice_verdict(sl)
    small = "" if sl["ranked"] else " (too few rows to rank or gate)"
    return {"classname": classname, "name": f"{name} [{key_text(sl['key'])}]",
            "failure": (f"[{key_text(sl['key'])}] {message}", json_text(sl))
            if verdict["passed"] is False else None,
            "skipped": f"{sl['count']} rows: too few to rank or gate" if not sl["ranked"] else
            f"undecided: {verdict['undecided']}" if "undecided" in verdict else None,
            "output": f"value={sl.get('value', sl.get('candidate'))!r} count={sl['count']}{small}"}


def compare(payload: dict) -> str:
    cases = []
    for r in payload["results"]:
        gate = r.get("gate")
        failed = gate is not None and not gate["passed"]
        msg = _change_text(r["loss"], r)
        cases.append({"classname": "losscli.compare", "name": r["loss"],
                      "failure": (msg, json_text(r)) if failed else None, "output": msg,
                      **({"skipped": f"undecided: {gate['undecided']}"} if gate and "undecided" in gate else {})})
        cases += [slice_case("losscli.compare", r["loss"], sl, _change_text(r["loss"], sl)) for sl in r.get("slices", [])]
    return junit_xml("compare", cases)


def _change_text(loss: str, r: dict) -> str:
    gate = r.get("gate")
    lo, hi = r["bootstrap"]["interval"]
    ci = "no CI" if interval_text((lo, hi)) == "-" else f"{100 * r['bootstrap']['confidence']:g}% CI [{lo!r}, {hi!r}]"
    return (f"{loss}: candidate {r['candidate']!r} vs baseline {r['baseline']!r}, change {r['change']!r}, {ci}, allowed "
            f"{_number(gate['allowed_increase'] if gate else None)}"
            + (f"; undecided: {gate['undecided']}" if gate and "undecided" in gate else ""))


def check(payload: dict) -> str:
    cases = []
    for g in payload["gates"]:
        if "error" in g:  # it could not be evaluated
            cases.append({"classname": "losscli.check", "name": g["gate"], "error": (g["error"], g["error"]),
                          "output": g["error"]})
            continue
        failed = [check_text(c) for c in g["checks"] if not c["passed"]]
        msg = f"{g['loss']} = {g['value']!r}; failed: {', '.join(failed)}" if failed else None
        cases.append({"classname": "losscli.check", "name": g["gate"],
                      "failure": (msg, json_text({k: v for k, v in g.items() if k != "slices"}))
                      if failed else None,
                      "output": "\n".join([f"{g['loss']} = {g['value']!r}",
                                           *(f"{check_text(c)}: {said(c)}" for c in g["checks"])]),
                      **({"skipped": f"undecided: {g['undecided']}"} if g.get("undecided") else {})})
        for sl in g.get("slices", []):
            failed_checks = [c["check"] for c in sl["checks"] if not c["passed"]]
            cases.append(slice_case("losscli.check", g["gate"], sl,
                                    f"{g['loss']} = {sl['value']!r}; failed: {', '.join(failed_checks)}"))
    return junit_xml("check", cases)


def _element_line(w: dict) -> str:
    """One listed element with every number a reader needs to see what is wrong and why."""
    from ..gradcheck.record import slopes_text

    compared = "" if w["status"] == "kink" else (  # (at a kink the slopes are the comparison)
        f" diff {_number(w['abs_error'])} rel diff {_number(w.get('rel_difference'))} "
        f"diff/bound {_number(w.get('error_ratio'))}")
    return (f"{w['role']}{tuple(w['index'])} {w['status']}: analytic {_number(w['analytic'])} numeric "
            f"{_number(w['numeric'])}{compared} bound {_number(w['error_estimate'])} one-sided slopes "
            f"{slopes_text(w, 17)}: {w.get('reason', '')}")


def _number(x) -> str:
    """A number of a record, every digit (a missing one: -, as the tables write it)."""
    return "-" if x is None else repr(x)


def gradcheck(payload: dict) -> str:
    """One testcase per loss: a failure's message says why (the counts and how far apart), its
    details list the worst elements; a passing loss's output says what was verified and lists
    its kinks and undecided elements."""
    from ..gradcheck.record import reasons, verdict

    cases = []
    for r in payload["results"]:
        why = r.get("reasons") or reasons(r)
        listed = [w for w in r["worst"] if not r["passed"] or w["status"] in ("kink", "inconclusive")]
        elements = "\n".join(_element_line(w) for w in listed)
        notes = "".join(f"\nnote: {n}" for n in r["notes"])
        msg = f"{r['loss']}: FAIL: " + "; ".join(why)
        summary = (f"{r.get('verdict') or verdict(r)}: checked {r['checked']} elements with {r['evaluations']} "
                   f"evaluations; " + "; ".join(why))
        cases.append({"classname": "losscli.gradcheck", "name": r["loss"],
                      "failure": (msg, elements + notes) if not r["passed"] else None,
                      "output": summary + notes + ("\n" + elements if elements and r["passed"] else "")})
    return junit_xml("gradcheck", cases)
