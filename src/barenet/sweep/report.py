"""The results of a sweep, from its study: tables, plots and the best configuration.

- ``results.csv``: one row per trial: setting, seed, metric, test metrics, epochs, time, state
- ``summary.csv``: one row per setting: mean, standard deviation, min and max over the seeds,
  and the verdict against the best setting (:mod:`.noise`: Welch's t-test)
- ``curves.png``: validation metric per epoch, per setting: the mean, and the seeds' range shaded
- ``final.png``: the final metric per setting: every seed's point, the mean ± one standard deviation
- ``params.png``: (searches with distributions) the metric against each searched parameter
- ``best.toml``: the best setting as a config: ``barenet train --config best.toml`` repeats it

summary.csv, final.png and best.toml compare finished settings: they are written only when no
trial is running (while some are, the table says which, and the old ones are removed).
"""

from __future__ import annotations

import csv
import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from ..runs.config import toml_text
from ..runs.plots import new_figure, save_figure
from .noise import RULE, verdict
from .spec import SweepSpec, format_value

CURVES_SHOWN = 10  # more curves than this are a tangle
STATE_NAMES = {0: "running", 1: "complete", 2: "pruned", 3: "failed", 4: "waiting"}
COMPARING = ("summary.csv", "final.png", "best.toml")  # written only when no trial is running


@dataclass
class TrialRow:
    """What the report needs of one Optuna trial (read from any storage)."""

    number: int
    state: str
    setting: dict[str, object]
    label: str
    seed: int | None
    value: float | None
    curve: dict[int, float]
    attrs: dict[str, object]


@dataclass
class SettingSummary:
    label: str
    setting: dict[str, object]
    values: list[float] = field(default_factory=list)
    failed: int = 0
    pruned: int = 0
    verdict: str = "-"  # against the best setting: best, worse, within noise, too few seeds to tell
    p_value: float = math.nan

    @property
    def mean(self) -> float:
        return statistics.fmean(self.values) if self.values else math.nan

    @property
    def std(self) -> float:
        """Sample standard deviation over the seeds (n - 1); nan for fewer than two."""
        return statistics.stdev(self.values) if len(self.values) > 1 else math.nan


def trial_rows(study, spec: SweepSpec) -> list[TrialRow]:
    from .study import run_trials, setting_of  # optuna only when a study is read

    rows = []
    for trial in run_trials(study):
        setting = setting_of({key: trial.params[key] for key in spec.searched_keys if key in trial.params})
        rows.append(TrialRow(
            trial.number,
            STATE_NAMES.get(int(trial.state), str(trial.state)),
            setting,
            trial.user_attrs.get("setting", ""),
            trial.user_attrs.get("seed"),
            trial.value if trial.state.name == "COMPLETE" else None,
            dict(sorted(trial.intermediate_values.items())),
            dict(trial.user_attrs),
        ))
    return rows


def summarize(rows: list[TrialRow], spec: SweepSpec) -> list[SettingSummary]:
    """One summary per setting, best mean first (settings without a finished seed last)."""
    settings: dict[str, SettingSummary] = {}
    again = {row.attrs["retry_of"] for row in rows if "retry_of" in row.attrs}  # ran again: not counted
    for row in rows:
        if not row.label or row.state in ("waiting", "running") or row.number in again:
            continue
        summary = settings.setdefault(row.label, SettingSummary(row.label, row.setting))
        if row.state == "complete":
            summary.values.append(row.value)
        elif row.state == "pruned":
            summary.pruned += 1
        else:
            summary.failed += 1
    sign = -1 if spec.direction == "maximize" else 1
    ordered = sorted(settings.values(), key=lambda s: (not s.values, sign * s.mean if s.values else 0))
    if ordered and ordered[0].values:
        ordered[0].verdict = "best"
        for summary in ordered[1:]:
            if summary.values:
                summary.verdict, summary.p_value = verdict(summary.values, ordered[0].values)
    return ordered


def running_numbers(rows: list[TrialRow]) -> list[int]:
    return [row.number for row in rows if row.state == "running"]


def write_report(folder: Path, spec: SweepSpec, rows: list[TrialRow]) -> list[Path]:
    """Write every output of the report into ``folder``; the paths written. While a trial
    runs, only results.csv and the curves (the comparisons would change under the reader)."""
    summaries = summarize(rows, spec)
    written = [write_results(rows, spec, folder / "results.csv")]
    if any(row.curve for row in rows):
        written.append(plot_curves(rows, summaries, spec, folder / "curves.png"))
    if running_numbers(rows):
        for name in COMPARING:
            (folder / name).unlink(missing_ok=True)
        return written
    written.append(write_summary(summaries, spec, folder))
    if any(summary.values for summary in summaries):
        written.append(plot_final(summaries, spec, folder / "final.png"))
        written.append(write_best(summaries[0], spec, folder / "best.toml"))
    if spec.distributions and any(row.value is not None for row in rows):
        written.append(plot_parameters(rows, spec, folder / "params.png"))
    return written


def write_results(rows: list[TrialRow], spec: SweepSpec, path: Path) -> Path:
    test_names = sorted({name for row in rows for name in row.attrs if name.startswith("test_")})
    header = ["trial", "state", "setting", *spec.searched_keys, "seed", spec.metric, *test_names,
              "epochs", "wall_time_s", "retry_of", "host", "folder", "failure", "warnings"]
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        for row in rows:
            attrs = row.attrs
            writer.writerow([
                row.number, row.state, row.label,
                *(csv_value(row.setting[key]) if key in row.setting else "" for key in spec.searched_keys),
                "" if row.seed is None else row.seed,
                "" if row.value is None else repr(row.value),
                *(attrs.get(name, "") for name in test_names),
                *(attrs.get(name, "") for name in ("epochs", "wall_time_s", "retry_of", "host", "folder")),
                attrs.get("failure", ""),
                attrs.get("warnings", ""),
            ])
    return path


def write_summary(summaries: list[SettingSummary], spec: SweepSpec, folder: Path) -> Path:
    path = folder / "summary.csv"
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["setting", *spec.searched_keys, "seeds_complete", "pruned", "failed",
                         *(f"{spec.metric}_{name}" for name in ("mean", "std", "min", "max")),
                         "vs_best", "p_value"])
        for summary in summaries:
            numbers = [summary.mean, summary.std, min(summary.values, default=math.nan),
                       max(summary.values, default=math.nan)]
            writer.writerow([
                summary.label,
                *(csv_value(summary.setting.get(key, "")) for key in spec.searched_keys),
                len(summary.values), summary.pruned, summary.failed,
                *("" if math.isnan(number) else f"{number:.6g}" for number in numbers),
                summary.verdict, "" if math.isnan(summary.p_value) else f"{summary.p_value:.4g}",
            ])
    return path


def csv_value(value: object) -> object:
    """Exact numbers (``repr``) in the CSV files; widths as ``784-128-10``."""
    if isinstance(value, list):
        return format_value(value)
    return repr(value) if isinstance(value, float) else value


def table_text(summaries: list[SettingSummary], spec: SweepSpec, running: list[int] = ()) -> str:
    """The summary as a text table, best setting first, with the verdicts' rule below it (and
    the trials still running, which it does not count)."""
    width = max([len("setting"), *(len(summary.label) for summary in summaries)])
    lines = [f"{'setting':<{width}}  seeds  {spec.metric + ' mean':>18}  {'std':>7}  {'min':>7}  {'max':>7}"
             "  pruned  failed  vs best"]
    for summary in summaries:
        def number(value: float) -> str:
            return "-" if math.isnan(value) else f"{value:.4f}"

        judged = summary.verdict + ("" if math.isnan(summary.p_value) else f" (p={summary.p_value:.2g})")
        lines.append(
            f"{summary.label:<{width}}  {len(summary.values):>5}  {number(summary.mean):>18}  "
            f"{number(summary.std):>7}  {number(min(summary.values, default=math.nan)):>7}  "
            f"{number(max(summary.values, default=math.nan)):>7}  {summary.pruned:>6}  {summary.failed:>6}"
            f"  {judged}"
        )
    lines.append(RULE)
    if running:
        lines.append(f"still running: trial(s) {', '.join(map(str, running))}; the table counts finished "
                     f"trials only, and {', '.join(COMPARING)} are written once no trial runs")
    return "\n".join(lines)


def write_best(best: SettingSummary, spec: SweepSpec, path: Path) -> Path:
    config = spec.config(best.setting, spec.seeds[0])
    spread = "" if math.isnan(best.std) else f" ± {best.std:.4f}"
    header = (f"# best setting of sweep {spec.name!r}: {best.label}\n"
              f"# {spec.metric} {best.mean:.4f}{spread} over {len(best.values)} seed(s)\n")
    path.write_text(header + toml_text(config))
    return path


# ---- plots --------------------------------------------------------------------------------------


def colors(count: int) -> list[str]:
    """Matplotlib's tab10 colours, then tab20's, cycling."""
    from matplotlib import colormaps

    palette = colormaps["tab10" if count <= 10 else "tab20"]
    return [palette(index % palette.N) for index in range(count)]


def plot_curves(rows: list[TrialRow], summaries: list[SettingSummary], spec: SweepSpec, path: Path) -> Path:
    """Mean validation curve per setting, the seeds' range shaded; the best CURVES_SHOWN settings."""
    from matplotlib.ticker import MaxNLocator

    shown = summaries[:CURVES_SHOWN]
    figure = new_figure(figsize=(11, 5))
    axes = figure.add_subplot()
    for summary, color in zip(shown, colors(len(shown))):
        curves = [row.curve for row in rows if row.label == summary.label and row.curve
                  and row.state in ("complete", "pruned")]
        steps = sorted({step for curve in curves for step in curve})
        if not steps:
            continue
        at_step = [[curve[step] for curve in curves if step in curve] for step in steps]
        axes.plot(steps, [statistics.fmean(values) for values in at_step], color=color,
                  label=f"{summary.label} ({len(curves)} seeds)")
        axes.fill_between(steps, [min(values) for values in at_step], [max(values) for values in at_step],
                          color=color, alpha=0.2, linewidth=0)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("epoch")
    axes.set_ylabel(spec.metric)
    which = "each setting" if len(shown) == len(summaries) else f"the best {len(shown)} of {len(summaries)}"
    axes.set_title(f"{spec.name}, {which}: mean over seeds, shaded from the lowest to the highest seed",
                   fontsize="medium")
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return save_figure(figure, path)


def plot_final(summaries: list[SettingSummary], spec: SweepSpec, path: Path) -> Path:
    shown = [summary for summary in summaries if summary.values][::-1]  # best at the top
    figure = new_figure(figsize=(8, 1.2 + 0.45 * len(shown)))
    axes = figure.add_subplot()
    for position, summary in enumerate(shown):
        axes.scatter(summary.values, [position] * len(summary.values), color="tab:blue", alpha=0.7, s=25,
                     label="one seed" if position == 0 else None, zorder=3)
        spread = 0.0 if math.isnan(summary.std) else summary.std
        axes.errorbar(summary.mean, position, xerr=spread, fmt="D", color="black", capsize=4,
                      label="mean ± std" if position == 0 else None, zorder=4)
    axes.set_yticks(range(len(shown)), [summary.label for summary in shown], fontsize="small")
    axes.set_xlabel(f"final {spec.metric}")
    axes.set_title(f"{spec.name}: every seed, and the mean ± one standard deviation")
    axes.grid(axis="x", alpha=0.3)
    axes.legend(fontsize="small", loc="best")
    return save_figure(figure, path)


def plot_parameters(rows: list[TrialRow], spec: SweepSpec, path: Path) -> Path:
    """The metric of every finished trial against each searched parameter (one panel each)."""
    from matplotlib.ticker import NullFormatter

    keys = spec.searched_keys
    figure = new_figure(figsize=(4.2 * len(keys), 3.8))
    finished = [row for row in rows if row.value is not None]
    for index, key in enumerate(keys, start=1):
        axes = figure.add_subplot(1, len(keys), index)
        distribution = spec.distributions.get(key)
        values = [row.setting[key] for row in finished]
        if distribution is None or distribution.kind == "categorical":  # grid lists are choices too
            choices = spec.grid[key] if distribution is None else distribution.choices
            labels = [format_value(choice) for choice in choices]
            axes.set_xticks(range(len(labels)), labels)
            axes.set_xlim(-0.5, len(labels) - 0.5)
            values = [labels.index(format_value(value)) for value in values]
        elif distribution.log:
            axes.set_xscale("log")
            axes.xaxis.set_minor_formatter(NullFormatter())  # 2×10⁻³, 3×10⁻³, ... overlap
        axes.scatter(values, [row.value for row in finished], alpha=0.7, s=20)
        axes.set_xlabel(key)
        axes.set_ylabel(spec.metric)
        axes.grid(alpha=0.3)
    figure.suptitle(f"{spec.name}: {spec.metric} of every finished trial against each searched parameter")
    return save_figure(figure, path)
