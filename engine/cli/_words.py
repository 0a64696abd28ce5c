"""The command line's words in Ukrainian and English, beside the report's (`engine.report._text`).

Two tables, one language per output (`engine.cli._console`):

- `WORDS`: what the commands say themselves (`text(key, ...)`: titles, columns, sentences), keyed
  like the report's `cli_*` words; a key lives in one table only (a test says so).
- `SENTENCES`: the lines other parts of the engine build in English for a terminal (the run
  summary's notes, `mfr reproduce`'s verdicts, an explanation's headings, the store's location).
  They are kept in English where they are recorded (a run's manifest, its log, the step cache:
  a record reads the same whatever language printed it); `translate(line, lang)` says a line in
  `lang` when one of these patterns matches it whole: its `{fields}` are read from the English
  line and written into the Ukrainian one, each field itself translated when a pattern matches it
  (`29.7 M UAH` -> `29.7 млн грн`, `n/a` -> `н/д`). A line no pattern matches is printed as it is;
  the tests run the commands on the sample and fail on any English sentence left in Ukrainian
  output, so a changed English sentence shows up there.
"""

from __future__ import annotations

import functools
import re

from engine.cli._sentences import SENTENCES

__all__ = ["SENTENCES", "WORDS", "translate"]

# key -> (Ukrainian, English), filled by `str.format`
WORDS: dict[str, tuple[str, str]] = {
    # progress lines off a terminal (`progress`, `step_line`)
    "cli_progress_start": ("mfr {command}: {step} …", "mfr {command}: {step} …"),
    "cli_progress_done": (
        "mfr {command}: {step} — готово за {seconds:.1f} с",
        "mfr {command}: {step} done in {seconds:.1f} s",
    ),
    "cli_step_done": (
        "{step} {status} за {seconds:.1f} с{reused}",
        "{step} {status} in {seconds:.1f} s{reused}",
    ),
    "cli_step_reused": (", повторно використано", ", reused"),
    "cli_written_to": ("записано в {out}", "written to {out}"),
    "cli_quarantine_accepted": (
        "[yellow]карантин понад {threshold:.2%} прийнято оператором[/yellow]",
        "[yellow]quarantine above {threshold:.2%} accepted by the operator[/yellow]",
    ),
    # mfr forecast
    "cli_fc_reading": ("читання витягу {extract}", "reading the extract {extract}"),
    "cli_fc_pricing": ("ціноутворення випадко-місяців", "pricing the case-months"),
    "cli_fc_forecasting": (
        "прогнозування {target} ({models} моделей, на {horizon} наперед)",
        "forecasting {target} ({models} models, {horizon} ahead)",
    ),
    "cli_fc_backtesting": (
        "прогнозування й бектест {target} ({models} моделей, на {horizon} наперед)",
        "forecasting and backtesting {target} ({models} models, {horizon} ahead)",
    ),
    "cli_fc_series": ("прогнозування {name}", "forecasting {name}"),
    "cli_fc_writing": ("запис {out}", "writing {out}"),
    "cli_fc_headline": (
        ": {series:,} рядів, {nodes:,} вузлів, {first} … {last}; узгоджено методом {used}{note}; "
        "{clipped:,} нижніх значень утримано на нулі; {fallbacks:,} запасних моделей",
        ": {series:,} series, {nodes:,} nodes, {first} … {last}; reconciled {used}{note}; "
        "{clipped:,} bottom values held at zero; {fallbacks:,} fallbacks",
    ),
    "cli_fc_asked": (" (запитано {requested}: {reason})", " (asked {requested}: {reason})"),
    "cli_fc_by_level": (
        "Прогноз за рівнями (середнє, сума за вузлами й періодами)",
        "Forecast by level (mean, summed over nodes and periods)",
    ),
    "cli_col_level": ("рівень", "level"),
    "cli_col_nodes": ("вузлів", "nodes"),
    "cli_col_mean": ("середнє", "mean"),
    "cli_col_method": ("метод", "method"),
    "cli_fc_coverage": ("охоплення {level} %", "coverage_{level}"),
    "cli_fc_models": ("моделі: {models}", "models: {models}"),
    "cli_fc_backtest": ("Бектест (середнє за точками відліку)", "Backtest (mean over origins)"),
    "cli_fc_skipped": (
        "[yellow]бектест пропущено: {reason}[/yellow]",
        "[yellow]backtest skipped: {reason}[/yellow]",
    ),
    "cli_fc_money": (
        "прогноз {what}: {amount:,.2f} грн за горизонт",
        "forecast {what}: {amount:,.2f} UAH over the horizon",
    ),
    "cli_fc_need_uah": ("потреби (обслуговані + очікувані)", "need (served + waiting)"),
    "cli_fc_served_uah": ("обслуговуваних", "served"),
    "cli_fc_waiting_uah": ("очікуваних", "waiting"),
    # mfr price
    "cli_price_case": (
        "[bold]Новий випадок[/bold]: послуга {service}, рівень потреби {need_level}, "
        "{hromada} з {start} до {until}{moves}; співвідношення доходу {income}, "
        "інвалідність {disability}",
        "[bold]A new case[/bold]: service {service}, need level {need_level}, "
        "{hromada} from {start} to {until}{moves}; income ratio {income}, "
        "disability {disability}",
    ),
    "cli_price_moves": (", переїзди {moves}", ", moves {moves}"),
    "cli_price_model": (
        "Модель фінансування {name} {version} (хеш {digest})",
        "Funding model {name} {version} (hash {digest})",
    ),
    "cli_price_scenario": ("; сценарій {scenario}", "; scenario {scenario}"),
    "cli_price_scenario_title": (
        "[bold]Сценарій {scenario}[/bold]",
        "[bold]Scenario {scenario}[/bold]",
    ),
    "cli_price_scenario_line": ("сценарій {line}", "scenario {line}"),
    "cli_open": ("відкрито", "open"),
    "cli_unknown": ("невідомо", "unknown"),
    "cli_served": ("обслуговується", "served"),
    "cli_waiting": ("очікує", "waiting"),
    "cli_total": ("разом", "total"),
    "cli_col_month": ("місяць", "month"),
    "cli_col_funded": ("фінансується", "funded"),
    "cli_col_days": ("днів", "days"),
    "cli_col_gross_uah": ("валова, грн", "gross_uah"),
    "cli_col_copay_uah": ("співоплата, грн", "copay_uah"),
    "cli_col_state_uah": ("держава, грн", "state_uah"),
    "cli_col_scenario_state_uah": ("держава за сценарієм, грн", "scenario_state_uah"),
    "cli_col_state_diff_uah": ("різниця, грн", "state_diff_uah"),
    # mfr sweep
    "cli_sw_start": (
        "розгортка {name}: {points} точок на {where}",
        "sweep {name}: {points} points on {where}",
    ),
    "cli_sw_up_to_date": (
        "розгортка {sweep} актуальна (та сама специфікація, вхідні дані й код); --force "
        "запускає знову",
        "sweep {sweep} is up to date (same spec, inputs and code); --force reruns it",
    ),
    "cli_sw_done": (
        "розгортка {sweep}: {computed} точок обчислено, {reused} уже записано, за {seconds:.1f} с",
        "sweep {sweep}: {computed} points computed, {reused} already recorded, in {seconds:.1f} s",
    ),
    "cli_sw_report": ("звіт: {report}", "report: {report}"),
    "cli_sw_point": (
        "  {point}: конверт {envelope}, розподілено {allocated}, охоплення {coverage}, нестача "
        "{shortfall}",
        "  {point}: envelope {envelope}, allocated {allocated}, coverage {coverage}, shortfall "
        "{shortfall}",
    ),
    # mfr validate-totals
    "cli_vt_reading": (
        "[bold]{path}[/bold]: {read:,} рядків прочитано, {valid:,} придатних, {quarantined:,} у "
        "карантині; суми в {unit}",
        "[bold]{path}[/bold]: {read:,} rows read, {valid:,} valid, {quarantined:,} quarantined; "
        "amounts in {unit}",
    ),
    "cli_vt_warning": ("  попередження: {column}: {reason}", "  warning: {column}: {reason}"),
    "cli_vt_quarantined": (
        "  у карантині {rule} ({count:,}), напр. рядок {line}: {column}{value}: {reason}",
        "  quarantined {rule} ({count:,}), e.g. line {line}: {column}{value}: {reason}",
    ),
    "cli_vt_no_gap": (
        "[green]жодної розбіжності понад допуск[/green]",
        "[green]no gap beyond tolerance[/green]",
    ),
    "cli_vt_largest": (
        "[bold]Найбільші розбіжності понад допуск[/bold] (сплачено − розраховано = люди + обсяг + "
        "ціна)",
        "[bold]Largest gaps beyond tolerance[/bold] (paid − simulated = people + volume + price)",
    ),
    "cli_vt_gap": (
        "  {where}: розраховано {sim}, сплачено {paid}, розбіжність {gap}{pct} = {parts}; переважно "
        "{dominant}{timing}",
        "  {where}: simulated {sim}, paid {paid}, gap {gap}{pct} = {parts}; mostly "
        "{dominant}{timing}",
    ),
    "cli_vt_timing": (
        " (терміни: за рік у межах допуску)",
        " (timing: the year is within tolerance)",
    ),
    "cli_vt_no_split": ("без розкладу", "no split"),
    "cli_vt_people": ("люди", "people"),
    "cli_vt_volume": ("обсяг", "volume"),
    "cli_vt_price": ("ціна", "price"),
    "cli_vt_hidden": (
        "  ({hidden:,} позначених клітинок громад, де менше {min_count} осіб, не показано)",
        "  ({hidden:,} flagged hromada cells of fewer than {min_count} people not shown)",
    ),
    # mfr allocate
    "cli_al_title": (
        "[bold]{policy}[/bold] (режим {mode})  рядків вимог: {rows:,}, частка мінімуму {floor}",
        "[bold]{policy}[/bold] ({mode} mode)  {rows:,} claim rows, floor share {floor}",
    ),
    "cli_al_value_of_uah": ("цінність +1 грн", "value of +1 UAH"),
    "cli_al_floors_unaffordable": ("мінімуми недосяжні", "floors unaffordable"),
    "cli_al_constraints": ("Обмеження", "Constraints"),
    "cli_al_col_constraint": ("обмеження", "constraint"),
    "cli_al_col_group": ("група", "group"),
    "cli_al_col_binding": ("зв'язує", "binding"),
    "cli_al_col_at_bound": ("на межі", "at bound"),
    "cli_al_col_shadow_price": ("тіньова ціна", "shadow price"),
    "cli_al_col_meaning": ("значення", "meaning"),
    "cli_al_yes": ("так", "yes"),
    "cli_al_tight": ("впритул", "tight"),
    "cli_al_no": ("ні", "no"),
    "cli_al_equity_hromada": (
        "Рівність між {territories:,} громадами: охоплення {low} – {high} (розкид {spread}), Джині суми на мешканця {gini}, нижче мінімуму {below}",
        "Equity across {territories:,} hromadas: coverage {low} – {high} (spread {spread}), Gini of UAH per resident {gini}, below the floor {below}",
    ),
    "cli_al_equity_oblast": (
        "Рівність між {territories:,} областями: охоплення {low} – {high} (розкид {spread}), Джині суми на мешканця {gini}, нижче мінімуму {below}",
        "Equity across {territories:,} oblasts: coverage {low} – {high} (spread {spread}), Gini of UAH per resident {gini}, below the floor {below}",
    ),
    "cli_al_allocated": (
        "Розподілено [bold]{allocated}[/bold] з {envelope} грн проти вимог після лімітів "
        "{claims} грн",
        "Allocated [bold]{allocated}[/bold] of {envelope} UAH against capped claims of "
        "{claims} UAH",
    ),
    "cli_al_unspent": (
        "[yellow]Не витрачено: {unspent} грн[/yellow]",
        "[yellow]Unspent: {unspent} UAH[/yellow]",
    ),
    # mfr entitle
    "cli_ent_title": (
        "[bold]Нарахування[/bold] {first} – {last} · модель {version} ({digest})",
        "[bold]Entitlements[/bold] {first} – {last} · model {version} ({digest})",
    ),
    "cli_ent_totals": (
        "Підсумки (суми округлених сум випадко-місяців)",
        "Totals (sums of rounded case-month amounts)",
    ),
    "cli_ent_served": ("обслуговуються (фінансуються)", "served (funded)"),
    "cli_ent_waiting": ("очікують (незадоволена потреба)", "waiting (unmet need)"),
    "cli_ent_case_months": ("випадко-місяці", "case-months"),
    "cli_ent_rows": ("рядки випадко-місяців", "case-month rows"),
    "cli_ent_gross_uah": ("валова сума, грн", "gross, UAH"),
    "cli_ent_copay_uah": ("співоплата, грн", "co-payment, UAH"),
    "cli_ent_state_uah": ("держава, грн", "state, UAH"),
    "cli_ent_counts": (
        "сегментів: {segments:,} · випадків: {cases:,} · рядків випадко-місяців: {rows:,}",
        "{segments:,} segments · {cases:,} cases · {rows:,} case-month rows",
    ),
    "cli_ent_top": (
        "{top} областей з найбільшою сумою від держави (область, що обслуговує)",
        "Top {top} oblasts by state-paid amount (serving oblast)",
    ),
    "cli_ent_code": ("код", "code"),
    "cli_ent_state": ("держава, грн", "state"),
    "cli_ent_quarantine": (
        "карантин: {quarantined:,} з {read:,} прочитаних рядків (вилучено)",
        "quarantine: {quarantined:,} rows of {read:,} read (excluded)",
    ),
    "cli_ent_quarantine_rules": (
        "Карантин за таблицями й правилами",
        "Quarantine by table and rule",
    ),
    "cli_ent_col_kind": ("вид", "kind"),
    "cli_ent_col_table": ("таблиця", "table"),
    "cli_ent_col_rule": ("правило", "rule"),
    "cli_ent_col_rows": ("рядків", "rows"),
    "cli_ent_kind_quarantine": ("карантин", "quarantine"),
    "cli_ent_kind_warning": ("попередження", "warning"),
    "cli_ent_benefits": (
        "дані про допомоги: {quarantined:,} рядків карантину з {read:,} прочитаних (вилучено), "
        "попереджень: {warnings:,}",
        "benefits: {quarantined:,} quarantine rows of {read:,} read (excluded), "
        "{warnings:,} warnings",
    ),
    "cli_ent_benefits_rules": (
        "Дані про допомоги: карантин і попередження за таблицями й правилами",
        "Benefits extract: quarantine and warnings by table and rule",
    ),
    "cli_ent_benefits_accepted": (
        "[yellow]карантин даних про допомоги понад {threshold:.2%} прийнято оператором[/yellow]",
        "[yellow]benefits quarantine above {threshold:.2%} accepted by the operator[/yellow]",
    ),
    "cli_ent_diff": (
        "[bold]Сценарій проти базового[/bold]: валова {gross} грн, держава {state} грн · "
        "випадків з приростом: {winners:,}, зі зменшенням: {losers:,}, без змін: {unchanged:,}",
        "[bold]Scenario vs baseline[/bold]: gross {gross} UAH, state {state} UAH · "
        "{winners:,} cases gain, {losers:,} lose, {unchanged:,} unchanged",
    ),
    "cli_ent_diff_title": (
        "Області, де змінюється сума від держави (випадки, що обслуговуються)",
        "Oblasts whose state-paid amount changes (served cases)",
    ),
    "cli_ent_baseline": ("базовий", "baseline"),
    "cli_ent_scenario": ("сценарій", "scenario"),
    "cli_ent_difference": ("різниця", "difference"),
}


_FIELD = re.compile(r"\{(\w+)\}")
# A field right after another (`{version}{projected}`) is an optional clause the engine appends:
# nothing, or text that opens with '; ', ', ' or ' (' (else the first field could take it all).
_AFTER_FIELD = r"(?:(?:; |, | \().*?)?"


@functools.cache
def _patterns() -> tuple[tuple[re.Pattern[str], str], ...]:
    """Each sentence's English as a pattern, the most literal first (so `{n} M UAH` is tried
    before `{n} UAH`), with its Ukrainian."""

    def literal(english: str) -> int:
        return len(_FIELD.sub("", english))

    ordered = sorted(SENTENCES.values(), key=lambda pair: -literal(pair[1]))
    compiled = []
    for uk, en in ordered:
        parts = _FIELD.split(en)  # literal, field, literal, field, ...
        body = "".join(
            re.escape(part)
            if i % 2 == 0
            else f"(?P<{part}>{_AFTER_FIELD if i > 1 and not parts[i - 1] else '.*?'})"
            for i, part in enumerate(parts)
        )
        compiled.append((re.compile(f"^{body}$", re.DOTALL), uk))
    return tuple(compiled)


def _translated(value: str) -> str | None:
    for pattern, uk in _patterns():
        found = pattern.match(value)
        if found is not None:
            fields = {k: _field(v) for k, v in found.groupdict().items()}
            return _fill(uk, fields)
    return None


def _fill(template: str, fields: dict[str, str]) -> str:
    """`template` with its `{fields}` (plain text: no `str.format`, a value may hold braces)."""
    return _FIELD.sub(lambda found: fields[found.group(1)], template)


def _field(value: str) -> str:
    """A field's text, itself translated when a sentence matches it (whole, or each of its
    `; `-separated parts)."""
    if not value.strip():
        return value
    whole = _translated(value)
    if whole is not None:
        return whole
    for separator in ("; ", ", "):
        parts = value.split(separator)
        if len(parts) > 1:
            return separator.join(_translated(p) or p for p in parts)
    return value


def translate(line: str, lang: str) -> str:
    """`line` (English, as the engine records it) in `lang`: each of its lines translated when
    one of `SENTENCES` matches it whole (leading spaces kept), else as it is."""
    if lang == "en":
        return line
    out = []
    for one in line.split("\n"):
        bare = one.lstrip(" ")
        said = _translated(bare) if bare else None
        out.append(one if said is None else one[: len(one) - len(bare)] + said)
    return "\n".join(out)
