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

from engine.cli._error_words import ERROR_SENTENCES
from engine.cli._reason_words import REASON_SENTENCES

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
}

# key -> (Ukrainian, English) of a line others build in English; `{field}` matches any text
SENTENCES: dict[str, tuple[str, str]] = {
    # units and small words, inside other sentences
    "bn_uah": ("{n} млрд грн", "{n} bn UAH"),
    "m_uah": ("{n} млн грн", "{n} M UAH"),
    "uah": ("{n} грн", "{n} UAH"),
    "seconds": ("{n} с", "{n} s"),
    "n_a": ("н/д", "n/a"),
    "succeeded": ("успішно", "succeeded"),
    "succeeded_green": ("[green]успішно[/]", "[green]succeeded[/]"),
    "failed": ("невдало", "failed"),
    "failed_red": ("[red]невдало[/]", "[red]failed[/]"),
    "reused": ("повторно", "reused"),
    "skipped": ("пропущено", "skipped"),
    "pending": ("не почато", "pending"),
    "running": ("виконується", "running"),
    # a forecast's reconciliation (`engine.forecasting`)
    "fc_auto": (
        "auto: найменша масштабована квантильна похибка бектесту за {origins} точок відліку "
        "({listed})",
        "auto: lowest backtest scaled quantile loss over {origins} origin(s) ({listed})",
    ),
    "fc_no_levels": ("немає агрегованих рівнів", "no aggregate levels"),
    "fc_no_convergence": (
        "{method} не зійшовся; використано {fallback}",
        "{method} did not converge; used {fallback}",
    ),
    # the run summary (`engine.pipeline._logging.render_summary`)
    "up_to_date": (
        "Актуально: запуск [bold]{run}[/] ({spec}, завершено {finished} UTC) уже містить "
        "результати саме цих вхідних даних, моделей, специфікації й коду. Нічого не "
        "перераховано; --force запускає знову.",
        "Up to date: run [bold]{run}[/] ({spec}, finished {finished} UTC) already holds the "
        "results of these exact inputs, models, spec and code. Nothing was recomputed; use "
        "--force to run again.",
    ),
    "exports_note": ("[yellow]Примітка:[/] {note}.", "[yellow]Note:[/] {note}."),
    "run_verdict": (
        "Запуск [bold]{run}[/] ({spec}): {verdict} за {seconds}",
        "Run [bold]{run}[/] ({spec}) {verdict} in {seconds}",
    ),
    "col_step": ("крок", "step"),
    "col_status": ("стан", "status"),
    "col_time": ("час", "time"),
    "col_rows_read": ("прочитано рядків", "rows read"),
    "col_quarantined": ("у карантині", "quarantined"),
    "col_written": ("записано", "written"),
    "out_report": ("Звіт:     {path}", "Report:  {path}"),
    "out_exports": ("Експорт:  {path}", "Exports: {path}"),
    "out_store": (
        "Сховище:  {path}  (mfr show {run} --store {store})",
        "Store:   {path}  (mfr show {run} --store {store})",
    ),
    "out_log": ("Журнал:   {path}", "Log:     {path}"),
    "store_from": ("сховище: {path} (звідки: {source})", "store: {path} (from {source})"),
    "latest_production": (
        "Останній: запуск {run} у <table>_latest і {where} ({spec} — робоча специфікація)",
        "Latest:  run {run} in <table>_latest and {where} ({spec} is production)",
    ),
    "latest_spec": (
        "Останній: запуск {run} у {where}; <table>_latest показують робочу специфікацію "
        "{production} (mfr promote {spec} змінює це)",
        "Latest:  run {run} in {where}; <table>_latest follow the production spec "
        "{production} (mfr promote {spec} to change that)",
    ),
    "latest_none": (
        "Останній: специфікація {spec} ще не має успішного запуску",
        "Latest:  spec {spec} has no succeeded run yet",
    ),
    "spec_views": ("подання специфікації", "the spec's views"),
    "retention": (
        "Зберігання (outputs.keep_runs: {keep}): {summary}",
        "Retention (outputs.keep_runs: {keep}): {summary}",
    ),
    "run_failed": (
        "запуск {run} невдалий на кроці '{step}'; нічого не опубліковано; журнал: {log}",
        "run {run} failed in step '{step}'; nothing was published; log: {log}",
    ),
    # the run summary's notes (the steps' `notes`, kept in the manifest in English)
    "note_extract": (
        "Витяг {path} на {date}: {recipients} отримувачів, {cases} випадків, {providers} "
        "надавачів.",
        "Extract {path}, taken {date}: {recipients} recipients, {cases} cases, {providers} "
        "providers.",
    ),
    "note_quarantined": (
        "У карантині {rows} рядків (найбільше в '{table}': {share}); причину кожного рядка "
        "див. у таблиці карантину.",
        "Quarantined {rows} rows (most in '{table}': {share}); see the quarantine table for "
        "each row's reason.",
    ),
    "note_quarantine_accepted": (
        "Карантин понад поріг {threshold} прийнято оператором (--accept-quarantine).",
        "Quarantine above the {threshold} threshold accepted by the operator "
        "(--accept-quarantine).",
    ),
    "note_entitlements": (
        "Право на фінансування {months} (модель фінансування {version}{projected}): {counts}; "
        "держава винна {state}, співоплата {copay}, незадоволена потреба {unmet}.",
        "Entitlements {months} (funding model {version}{projected}): {counts}; the state owes "
        "{state}, co-payments {copay}, unmet need {unmet}.",
    ),
    "note_projected": (
        "; місяці після {month} вважають відкриті випадки такими, що тривають",
        "; months after {month} assume open cases go on",
    ),
    "note_counts": (
        "{served} випадків обслуговано ({people_served} осіб), {waiting} випадків очікує "
        "({people_waiting} осіб), {cases} випадків усього",
        "{served} cases served ({people_served} people), {waiting} cases waiting "
        "({people_waiting} people), {cases} cases in all",
    ),
    "note_need": (
        "Потреба у {month}: {served} випадків обслуговано, {waiting} очікує; охоплення "
        "оціненої потреби {coverage}{per10k}.",
        "Need in {month}: {served} cases served, {waiting} waiting; coverage of assessed need "
        "{coverage}{per10k}.",
    ),
    "note_per10k": (
        "; {rate} випадко-місяців на 10 000 мешканців",
        "; {rate} case-months per 10,000 residents",
    ),
    "note_forecast": (
        "Прогноз {target} на {start}..{end} за {first}..{last} ({series} рядів громада × "
        "послуга, узгоджено методом {method}; конфігурація {config}): {mean} випадко-місяців "
        "на місяць (80 % інтервал {low}–{high}).",
        "Forecast of {target} {start}..{end} from {first}..{last} ({series} hromada × service "
        "series, reconciled by {method}; configuration {config}): {mean} case-months a month "
        "(80% interval {low}–{high}).",
    ),
    "note_backtest_skipped": ("Бектест пропущено: {why}", "Backtest skipped: {why}"),
    "note_need_priced": (
        "Потребу {months} оцінено за моделлю фінансування {version}: {uah} за {case_months} "
        "випадко-місяців.",
        "Need {months} priced by funding model {version}: {uah} for {case_months} case-months.",
    ),
    "note_allocation": (
        "Розподіл за політикою {policy}: конверт {envelope}, заявки {claims} ({capped} після "
        "лімітів), розподілено {allocated}; нестача {shortfall}, не витрачено {unspent}.",
        "Allocation under {policy}: envelope {envelope}, claims {claims} ({capped} after caps), "
        "allocated {allocated}; shortfall {shortfall}, unspent {unspent}.",
    ),
    "note_envelope": (
        "Конверт {envelope} проти заявок на {claims}: {share} заявок ({how}).",
        "Envelope {envelope} against claims of {claims}: {share} of claims ({how}).",
    ),
    "how_spec_share": (
        "частка заявок зі специфікації, share_of_claims {share}",
        "the spec's share_of_claims {share}",
    ),
    "how_given": ("задано через --envelope", "given with --envelope"),
    "how_confirmed": (
        "задано в специфікації для {sized_for}, підтверджено для {extract} через "
        "--confirm-envelope",
        "set in the spec for {sized_for}, confirmed for {extract} with --confirm-envelope",
    ),
    "how_spec": ("задано в специфікації для {sized_for}", "set in the spec for {sized_for}"),
    "how_policy": ("конверт політики", "the policy's envelope"),
    "note_envelope_warning": (
        "Попередження розподілу: конверт становить {share} заявок цього витягу; чи не для "
        "іншого витягу його визначено? Задайте --envelope СУМА або --envelope ЧАСТКА%.",
        "Allocation warning: the envelope is {share} of this extract's claims; was it sized "
        "for another extract? Set it with --envelope AMOUNT or --envelope SHARE%.",
    ),
    "note_allocation_warning": (
        "Попередження розподілу: {warning}",
        "Allocation warning: {warning}",
    ),
    "note_scenario": (
        "Сценарій {name} проти {version}: держава платить на {uah} більше за {months}; "
        "{winners} випадків виграють, {losers} програють.",
        "Scenario {name} against {version}: the state pays {uah} more over {months}; {winners} "
        "cases gain, {losers} lose.",
    ),
    "note_no_benefits": (
        "Витягу пільг немає: статус ВПО — єдине значення з реєстру.",
        "No benefits extract: IDP status is the registry's single value.",
    ),
    "note_benefits": (
        "Витяг пільг: {rows} рядків прочитано, {quarantined} у карантині; навантаження "
        "громад-приймачів ВПО у {month}: {case_months} випадко-місяців ВПО, {uah} грн",
        "Benefits extract: {rows} rows read, {quarantined} quarantined; IDP host burden in "
        "{month}: {case_months} IDP case-months, {uah} UAH",
    ),
    "note_benefits_no_idp": (
        "Витяг пільг прочитано; у місяцях специфікації жодного обслуговуваного ВПО.",
        "Benefits extract read; no IDP served in the spec's months.",
    ),
    "note_execution": (
        "Виконання бюджету {path}: {rows} рядків прочитано, {quarantined} у карантині; суми "
        "в {unit}.",
        "Budget execution {path}: {rows} rows read, {quarantined} quarantined; amounts in {unit}.",
    ),
    "note_execution_accepted": (
        "Карантин виконання бюджету понад поріг прийнято оператором.",
        "Budget-execution quarantine above the threshold accepted by the operator.",
    ),
    "note_pilot": (
        "Пілот {name} з {start}: {pilot} громад проти {comparison} порівнянних ({how}); "
        "різниця різниць: {effects}.",
        "Pilot {name} from {start}: {pilot} hromadas against {comparison} comparable ones "
        "({how}); difference in differences: {effects}.",
    ),
    "note_pilot_none": (
        "немає (жодну громаду не виміряно до й після)",
        "none (no hromada measured before and after)",
    ),
    # budget execution (`engine.execution.summary_lines`)
    "ex_headline": (
        "Виконання бюджету {period}{span}: сплачено {paid} проти {sim} розрахованих, розбіжність "
        "{gap} ({pct}): {parts}.",
        "Budget execution {period}{span}: paid {paid} against {sim} simulated, gap {gap} "
        "({pct}): {parts}.",
    ),
    "ex_cells": (
        "{flagged} з {cells} клітинок понад допуск ({tolerance} і {min_gap}){counts}.",
        "{flagged} of {cells} cells beyond tolerance ({tolerance} and {min_gap}){counts}.",
    ),
    "ex_people": ("люди {uah}", "people {uah}"),
    "ex_volume": ("обсяг {uah}", "volume {uah}"),
    "ex_price": ("ціна {uah}", "price {uah}"),
    "ex_no_split": (
        "без розкладу (звіт не рахує ні людей, ні обсягу)",
        "no split (the report counts neither people nor volume)",
    ),
    # mfr reproduce (`engine.pipeline._reproduce.Reproduction.lines`)
    "rp_rerun": (
        "запуск {run} перезапущено зі збережених вхідних даних і витягу {extract} (його хеші "
        "збігаються) як {rerun}",
        "run {run} rerun from its stored inputs and the extract {extract} (its hashes match) "
        "as {rerun}",
    ),
    "rp_engine": (
        "рушій {then} тоді, {now} тепер ({code})",
        "engine {then} then, {now} now ({code})",
    ),
    "rp_same_code": ("той самий код", "the same code"),
    "rp_code": (
        "код sha256 {then} тоді, {now} тепер",
        "code sha256 {then} then, {now} now",
    ),
    "rp_identical": (
        "ідентично: {tables} таблиць, кожна з хешем, з яким її опубліковано",
        "identical: {tables} tables, each with the hash it was published with",
    ),
    "rp_differs": (
        "відрізняється: {differ} з {tables} таблиць",
        "differs: {differ} of {tables} tables",
    ),
    "rp_table_identical": (
        "{table}: ідентична ({rows}, sha256 {digest})",
        "{table}: identical ({rows}, sha256 {digest})",
    ),
    "rp_not_published": (
        "{table}: перезапуск її не опублікував ({rows} тоді)",
        "{table}: not published by the rerun ({rows} then)",
    ),
    "rp_rerun_only": (
        "{table}: опублікована лише перезапуском ({rows})",
        "{table}: published by the rerun only ({rows})",
    ),
    "rp_table_differs": (
        "{table}: відрізняється{where} ({rows_then} тоді, {rows_now} тепер; sha256 {then} "
        "тоді, {now} тепер)",
        "{table}: differs{where} ({rows_then} then, {rows_now} now; sha256 {then} then, {now} now)",
    ),
    "rp_in_columns": (" у стовпцях {columns}", " in columns {columns}"),
    "rp_in_column": (" у стовпці {columns}", " in column {columns}"),
    "rp_rows": ("{n} рядків", "{n} rows"),
    "rp_row": ("{n} рядок", "{n} row"),
    "rp_rehashed": (
        "запуск {run} хешував свої таблиці іншим методом ({method}); його таблиці, як їх "
        "зберігає сховище, хешовано методом цього рушія ({now}) і порівняно",
        "run {run} hashed its tables by another method ({method}); its tables as the store "
        "keeps them are hashed by this engine's ({now}) and compared",
    ),
    **ERROR_SENTENCES,  # the errors `mfr` prints (`engine.cli._error_words`)
    **REASON_SENTENCES,  # quarantine and warning reasons (`engine.cli._reason_words`)
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
