"""The report card: an :class:`EvaluationReport` as one self-contained HTML page.

``render_card`` reads the report it is given (an ``EvaluationReport``) without
importing its module, so the report imports the card and not the other way.

Compute lives in :mod:`churnlib.evaluation._report`; this module only turns
its numbers, plain-language summary and rendered figures into escaped HTML.
"""

from __future__ import annotations

import math
from typing import Any

from churnlib._core.version import __version__
from churnlib._html import created_stamp, esc, figure_html, page

__all__ = ["METRIC_DESCRIPTIONS", "render_card"]

# metric name -> plain-language description (also the order of to_frame()).
METRIC_DESCRIPTIONS: dict[str, str] = {
    "n_samples": "customers evaluated",
    "churn_rate": "share of customers who churned",
    "roc_auc": "probability that a random churner scores above a random stayer",
    "average_precision": "area under the precision-recall curve",
    "accuracy": "share of customers classified correctly at the threshold",
    "precision": "share of flagged customers who churned (churn class)",
    "recall": "share of churners flagged (churn class)",
    "f1": "harmonic mean of precision and recall (churn class)",
    "ece": "expected calibration error: mean gap between predicted and observed "
    "churn rates over 10 equal-width score bins (0 = calibrated)",
    "brier": "mean squared error of the churn probabilities (lower is better)",
    "log_loss": "cross-entropy of the churn probabilities (lower is better)",
    "threshold": "probability above which a customer is flagged as churning",
    "tn": "stayers not flagged (true negatives)",
    "fp": "stayers flagged (false positives)",
    "fn": "churners missed (false negatives)",
    "tp": "churners flagged (true positives)",
    "top_decile_lift": "churn rate in the top 10% of scores over the overall rate",
    "ks": "Kolmogorov-Smirnov distance between churner and stayer scores",
    "campaign_profit": "expected profit of the most profitable campaign",
    "campaign_fraction": "share of customers that campaign contacts",
    "campaign_threshold": "contact customers scoring at least this",
    "bayes_optimal_roc_auc": "ROC AUC of the true churn probabilities",
    "roc_auc_gap": "bayes_optimal_roc_auc minus roc_auc (0 is perfect)",
}


def _fmt(value: float) -> str:
    if isinstance(value, int) or (float(value).is_integer() and abs(value) >= 1):
        return f"{value:,.0f}"
    if not math.isfinite(value):
        return str(value)
    return f"{value:.4f}"


def render_card(report: Any, rendered: list[tuple[str, str, str, bytes]]) -> str:
    """Assemble the report card; every string is escaped, nothing is linked."""
    paragraphs = report._summary_paragraphs()
    target = paragraphs[-1]
    rows = "\n".join(
        f"<tr><th>{esc(k)}</th><td class='num'>{esc(_fmt(v))}</td>"
        f"<td>{esc(METRIC_DESCRIPTIONS.get(k, ''))}</td></tr>"
        for k, v in report.metrics.items()
    )
    e = report.campaign.economics
    econ = "\n".join(
        f"<tr><th>{esc(k)}</th><td class='num'>{esc(_fmt(v))}</td></tr>"
        for k, v in (
            ("customer value", e.customer_value),
            ("incentive cost", e.incentive_cost),
            ("contact cost", e.contact_cost),
            ("acceptance rate", e.acceptance_rate),
            ("gain per contacted churner", e.gain_per_churner),
            ("cost per contacted non-churner", e.cost_per_non_churner),
        )
    )
    uplift = report.uplift_section() or ""
    figures = "\n".join(
        figure_html(key, title, caption, png) for key, title, caption, png in rendered
    )
    banner = report.leakage_banner()
    if banner is not None:
        paragraphs = paragraphs[1:]  # shown once, as the banner
    summary = "\n".join(f"<p>{esc(p)}</p>" for p in paragraphs[:-1])
    banner_html = (
        ""
        if banner is None
        else f'<p class="banner" role="alert" style="background:#fff4e5;'
        f'border-left:4px solid #d9822b;padding:.6rem 1rem">{esc(banner)}</p>\n'
    )
    body = f"""<h1>Churn model report card: {esc(report.name)}</h1>
<p class="meta">{int(report.metrics["n_samples"]):,} customers evaluated &middot;
threshold {report.threshold:.2f} &middot; created {created_stamp()} &middot;
churnlib {esc(__version__)}</p>
{banner_html}<h2>In plain words</h2>
<div class="summary">
{summary}
<p class="target">{esc(target)}</p>
</div>
<h2>Metrics</h2>
<table>
<thead><tr><th>metric</th><th>value</th><th>meaning</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
<h2>Campaign assumptions</h2>
<p>A contacted churner is worth <code>acceptance rate &times; (customer value
&minus; incentive cost) &minus; contact cost</code>; a contacted customer who
would have stayed costs <code>incentive cost + contact cost</code>.</p>
<table><tbody>
{econ}
</tbody></table>
{uplift}<h2>Figures</h2>
<div class="grid">
{figures}
</div>"""
    return page(f"Churn model report card: {report.name}", body)
