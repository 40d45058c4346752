"""HTML pages of lab results: one self-contained page per experiment and an index of them.

Built on the run report's machinery (``graddoctor.present``): its base template (the same styling and the
Content-Security-Policy that forbids every script and every non-embedded resource), its finding context,
number formatting and PNG data URIs. jinja2 autoescapes everything the experiment or a results file
controls. Figures are embedded as ``data:`` URIs, read only from the results folder and only when they are
PNG files, so a hand-edited JSON cannot pull another file into the page.

Entry points: :func:`write_page` (``lab run --out``), :func:`write_index` (``lab run all``) and
:func:`render_folder` (``graddoctor lab report DIR``: re-render from saved JSON without re-running).
"""
from __future__ import annotations

import datetime as _dt
import importlib
import json
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, PackageLoader, StrictUndefined

from .. import __version__
from ..present.explain import findings_summary, fmt_num
from ..present.html import finding_context
from ..present.plots import png_data_uri
from . import registry
from .runner import fmt_value

#: What a PNG file starts with; anything else named in a results file is not embedded.
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: The suffix of ``diagnosed`` when the diagnosis engine was not importable (see ``lab.doctor.attach``).
NOT_AVAILABLE = "[diagnosis engine not available]"

_ENV: Environment | None = None


def environment() -> Environment:
    """The lab's jinja2 environment: its own templates first, then the run report's (``base.html``,
    ``_macros.html``); autoescape on, undefined names are errors."""
    global _ENV
    if _ENV is None:
        loader = ChoiceLoader([PackageLoader("graddoctor.lab", "templates"),
                               PackageLoader("graddoctor.present", "templates")])
        _ENV = Environment(loader=loader, autoescape=True, undefined=StrictUndefined, trim_blocks=True,
                           lstrip_blocks=True)
        _ENV.filters["num"] = fmt_num
    return _ENV


def _captions(name: str) -> dict[str, str]:
    """``FIGURE_CAPTIONS`` (figure file stem -> caption) of the experiment module, if it defines one."""
    try:
        module = importlib.import_module(registry.EXPERIMENTS[name])
    except (KeyError, ImportError):
        return {}
    return dict(getattr(module, "FIGURE_CAPTIONS", {}) or {})


def _figures(result: dict[str, Any], folder: Path) -> list[dict[str, Any]]:
    captions = _captions(str(result.get("name", "")))
    out = []
    for i, recorded in enumerate(result.get("figures") or []):
        path = folder / Path(str(recorded)).name        # the figures sit next to the JSON
        stem = path.stem
        fig: dict[str, Any] = {"key": f"{i}", "title": stem.replace("_", " "), "file": path.name,
                               "caption": captions.get(stem, f"Figure written by the {result.get('name')} "
                                                             f"experiment ({path.name})."), "uri": None}
        try:
            png = path.read_bytes()
        except OSError:
            png = b""
        if png.startswith(PNG_SIGNATURE):
            fig["uri"] = png_data_uri(png)
        out.append(fig)
    return out


def _findings(result: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for f in result.get("findings") or []:
        if not isinstance(f, dict):
            continue
        d = {"kind": "unknown", "severity": "info", **f}
        ctx = finding_context(d)
        ctx["config"] = str(f["config"]) if f.get("config") is not None else ""
        ctx["layers"] = [str(x) for x in ctx["layers"]]
        rows.append(ctx)
    return rows


def _checks(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"quantity": str(c.get("quantity", "")), "published": fmt_value(c.get("published")),
             "measured": fmt_value(c.get("measured")), "tolerance": str(c.get("tolerance", "")),
             "passed": bool(c.get("passed")), "note": str(c.get("note") or "")}
            for c in result.get("checks") or [] if isinstance(c, dict)]


def _now() -> str:
    return _dt.datetime.now(tz=_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def page_html(result: dict[str, Any], folder: Path, index: bool = False) -> str:
    """The page of one result (``LabResult.to_dict()`` or its saved JSON); figures are read from ``folder``.
    ``index``: link back to ``index.html``."""
    checks = _checks(result)
    diagnosed = str(result.get("diagnosed") or "")
    findings = _findings(result)
    seconds = result.get("seconds")
    ctx = {
        "title": f"graddoctor lab: {result.get('name', '?')}", "version": __version__, "generated": _now(),
        "name": str(result.get("name", "?")), "experiment_title": str(result.get("title", "")),
        "source": str(result.get("source", "")), "mode": "quick" if result.get("quick") else "full",
        "seeds": "default" if result.get("seeds") is None else fmt_value(result.get("seeds")),
        "seconds": f"{float(seconds):.1f} s" if isinstance(seconds, (int, float)) else "-",
        "checks": checks, "n_passed": sum(c["passed"] for c in checks),
        "passed": all(c["passed"] for c in checks),
        "diagnosed": diagnosed.removesuffix(NOT_AVAILABLE).strip(),
        "engine_missing": diagnosed.endswith(NOT_AVAILABLE), "findings": findings,
        "summary": findings_summary([{"severity": f["severity"]} for f in findings]),
        "remedy": [(str(k), fmt_value(v)) for k, v in (result.get("remedy") or {}).items()],
        "figures": _figures(result, folder), "index": index,
    }
    return environment().get_template("lab_page.html").render(**ctx)


def write_page(result: Any, out: Path, index: bool = False) -> Path:
    """Write ``<out>/<name>.html`` for a :class:`~graddoctor.lab.base.LabResult` (or its dict)."""
    d = result.to_dict() if hasattr(result, "to_dict") else dict(result)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{d['name']}.html"
    path.write_text(page_html(d, out, index=index), encoding="utf-8")
    return path


def write_index(results: list[Any], out: Path) -> Path:
    """Write ``<out>/index.html``: one row per result, linking its page, with its pass/fail count."""
    rows = []
    for r in results:
        d = r.to_dict() if hasattr(r, "to_dict") else dict(r)
        checks = _checks(d)
        seconds = d.get("seconds")
        rows.append({"name": str(d["name"]), "href": f"{d['name']}.html", "title": str(d.get("title", "")),
                     "mode": "quick" if d.get("quick") else "full", "n": len(checks),
                     "n_passed": sum(c["passed"] for c in checks), "passed": all(c["passed"] for c in checks),
                     "seconds": f"{float(seconds):.1f} s" if isinstance(seconds, (int, float)) else "-"})
    ctx = {"title": "graddoctor lab: results", "version": __version__, "generated": _now(), "rows": rows,
           "n_failed": sum(not r["passed"] for r in rows)}
    out.mkdir(parents=True, exist_ok=True)
    path = out / "index.html"
    path.write_text(environment().get_template("lab_index.html").render(**ctx), encoding="utf-8")
    return path


def load_results(folder: Path) -> list[dict[str, Any]]:
    """The lab results saved in ``folder`` (``*.json`` files shaped like ``LabResult.to_dict()``), in the
    registry's order (unknown names last, alphabetically)."""
    found = []
    for path in sorted(folder.glob("*.json")):
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue
        if isinstance(d, dict) and isinstance(d.get("checks"), list) and d.get("name") == path.stem:
            found.append(d)
    order = {n: i for i, n in enumerate(registry.names())}
    return sorted(found, key=lambda d: (order.get(d["name"], len(order)), d["name"]))


def unreadable_results(folder: Path) -> list[str]:
    """The ``<name>.json`` files in ``folder`` named after an experiment that :func:`load_results` cannot read
    as a lab result (truncated by a killed run, hand-edited): they are left out of the pages and the index."""
    loaded = {d["name"] for d in load_results(folder)}
    return [f"{n}.json" for n in registry.names() if n not in loaded and (folder / f"{n}.json").is_file()]


def render_folder(folder: Path, names: list[str] | None = None) -> list[Path]:
    """Re-render the pages of the results saved in ``folder`` (only ``names`` if given) and, when there is
    more than one result in the folder, its ``index.html``. Returns the paths written."""
    results = load_results(folder)
    if names:
        missing = sorted(set(names) - {d["name"] for d in results})
        if missing:
            unreadable = [m + ".json" for m in missing if (folder / f"{m}.json").is_file()]
            absent = [m + ".json" for m in missing if not (folder / f"{m}.json").is_file()]
            why = ([f"no lab result {', '.join(absent)} in {folder}"] if absent else []) + \
                ([f"{', '.join(unreadable)} in {folder} is not a lab result (not valid JSON, or not what "
                  "'graddoctor lab run' writes)"] if unreadable else [])
            raise FileNotFoundError("; ".join(why))
    many = len(results) > 1
    written = [write_page(d, folder, index=many) for d in results if not names or d["name"] in names]
    if many:
        written.append(write_index(results, folder))
    return written
