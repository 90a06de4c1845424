"""What CloudWatch does with our EMF lines, read from the real artefacts: template.yaml's alarms
and dashboard on one side, the JSON lines the process prints on the other.

- ``alarm_specs`` / ``dashboard_series``: the metric queries of every alarm (single metric or
  metric math) and every dashboard widget (with the console's "." / "..." shorthand and SEARCH
  expressions), resolved from the template.
- ``parse_emf``: the series EMF lines create. CloudWatch keys a series by namespace, metric name
  and the exact set of dimensions of one dimension set; a query with another set finds nothing.
- ``evaluate_alarm``: the alarm's state over periods of datapoints: statistic per query, the
  metric-math expression (the subset the template uses: numbers, ids, + - * /, comparisons,
  IF, FILL), threshold and comparison, M out of N, and TreatMissingData.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from tests.cfn_template import resolve

SeriesKey = tuple[str, str, frozenset[tuple[str, str]]]  # namespace, metric name, dimensions


@dataclass(frozen=True)
class MetricQuery:
    id: str
    namespace: str
    name: str
    dimensions: frozenset[tuple[str, str]]
    stat: str
    period: int

    @property
    def key(self) -> SeriesKey:
        return (self.namespace, self.name, self.dimensions)


@dataclass(frozen=True)
class AlarmSpec:
    resource: str
    name: str
    queries: tuple[MetricQuery, ...]
    expression: str | None  # the ReturnData expression, or None: the one metric itself
    threshold: float
    comparison: str
    evaluation_periods: int
    datapoints_to_alarm: int
    treat_missing_data: str


@dataclass
class SearchQuery:
    namespace: str
    dimension_names: frozenset[str]
    name: str


@dataclass
class Series:
    values: dict[SeriesKey, list[float]] = field(default_factory=dict)

    def add(self, key: SeriesKey, value: float) -> None:
        self.values.setdefault(key, []).append(value)

    def keys(self) -> set[SeriesKey]:
        return set(self.values)


# ----------------------------------------------------------------------- the template's side


def _dimensions(items: list[dict[str, Any]], template: dict[str, Any], parameters: dict[str, str]) -> frozenset:
    return frozenset((d["Name"], str(resolve(d["Value"], template, parameters))) for d in items or [])


def alarm_specs(template: dict[str, Any], parameters: dict[str, str]) -> list[AlarmSpec]:
    specs = []
    for resource, body in template["Resources"].items():
        if body["Type"] != "AWS::CloudWatch::Alarm":
            continue
        p = body["Properties"]
        name = str(resolve(p["AlarmName"], template, parameters))
        if "Metrics" in p:
            queries, expression = [], None
            for entry in p["Metrics"]:
                if "MetricStat" in entry:
                    stat = entry["MetricStat"]
                    metric = stat["Metric"]
                    queries.append(
                        MetricQuery(
                            entry["Id"],
                            str(resolve(metric["Namespace"], template, parameters)),
                            metric["MetricName"],
                            _dimensions(metric.get("Dimensions", []), template, parameters),
                            stat["Stat"],
                            int(stat["Period"]),
                        )
                    )
                    if entry.get("ReturnData", True):
                        expression = entry["Id"]
                elif entry.get("ReturnData", True):
                    expression = str(resolve(entry["Expression"], template, parameters))
        else:
            queries = [
                MetricQuery(
                    "m",
                    str(resolve(p["Namespace"], template, parameters)),
                    p["MetricName"],
                    _dimensions(p.get("Dimensions", []), template, parameters),
                    p.get("ExtendedStatistic") or p["Statistic"],
                    int(p["Period"]),
                )
            ]
            expression = "m"
        specs.append(
            AlarmSpec(
                resource=resource,
                name=name,
                queries=tuple(queries),
                expression=expression,
                threshold=float(p["Threshold"]),
                comparison=p["ComparisonOperator"],
                evaluation_periods=int(p["EvaluationPeriods"]),
                datapoints_to_alarm=int(p.get("DatapointsToAlarm", p["EvaluationPeriods"])),
                treat_missing_data=p.get("TreatMissingData", "missing"),
            )
        )
    return specs


def dashboard_body(template: dict[str, Any], parameters: dict[str, str]) -> dict[str, Any]:
    body = template["Resources"]["TryOnDashboard"]["Properties"]["DashboardBody"]
    text = resolve(body, template, parameters)
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def dashboard_series(body: dict[str, Any]) -> tuple[list[tuple[str, SeriesKey]], list[tuple[str, SearchQuery]]]:
    """(widget title, series) for every metric row, and (title, search) for every SEARCH."""
    rows: list[tuple[str, SeriesKey]] = []
    searches: list[tuple[str, SearchQuery]] = []
    for widget in body["widgets"]:
        if widget["type"] != "metric":
            continue
        title = widget["properties"]["title"]
        previous: list[str] = []
        for row in widget["properties"]["metrics"]:
            parts = [item for item in row if not isinstance(item, dict)]
            options = next((item for item in row if isinstance(item, dict)), {})
            if "expression" in options and not parts:
                searches.extend((title, s) for s in _searches(options["expression"]))
                continue
            if parts and parts[0] == "...":
                parts = list(previous)
            else:
                parts = [previous[i] if item == "." and i < len(previous) else item for i, item in enumerate(parts)]
            previous = parts
            namespace, name, *dims = parts
            rows.append((title, (namespace, name, frozenset(zip(dims[::2], dims[1::2], strict=True)))))
    return rows, searches


def _searches(expression: str) -> list[SearchQuery]:
    found = []
    for schema, name in re.findall(r"\{([^}]*)\}\s*MetricName=\\?\"(\w+)\\?\"", expression):
        namespace, *dimension_names = [part.strip() for part in schema.split(",")]
        found.append(SearchQuery(namespace, frozenset(dimension_names), name))
    if "SEARCH(" in expression and not found:
        raise AssertionError(f"a SEARCH this reader does not understand: {expression}")
    return found


# ------------------------------------------------------------------------ the process's side


def parse_emf(output: str) -> Series:
    """The series the EMF lines in ``output`` create (one value per metric per dimension set)."""
    series = Series()
    for line in output.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict) or "_aws" not in record:
            continue
        for directive in record["_aws"]["CloudWatchMetrics"]:
            for dimension_set in directive["Dimensions"]:
                dims = frozenset((name, str(record[name])) for name in dimension_set)
                for metric in directive["Metrics"]:
                    values = record[metric["Name"]]
                    for value in values if isinstance(values, list) else [values]:
                        series.add((directive["Namespace"], metric["Name"], dims), float(value))
    return series


# ------------------------------------------------------------------------ alarm evaluation


def statistic(values: list[float], stat: str) -> float | None:
    if not values:
        return None
    if stat == "Sum":
        return sum(values)
    if stat == "SampleCount":
        return float(len(values))
    if stat == "Average":
        return sum(values) / len(values)
    if stat == "Minimum":
        return min(values)
    if stat == "Maximum":
        return max(values)
    match = re.fullmatch(r"p(\d+(?:\.\d+)?)", stat)
    if match:  # nearest rank, as CloudWatch computes percentiles on raw values
        ordered = sorted(values)
        rank = max(1, math.ceil(float(match.group(1)) / 100 * len(ordered)))
        return ordered[rank - 1]
    raise AssertionError(f"statistic {stat} is not modelled")


_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(>=|<=|==|!=|[-+*/(),<>]))")


class _Expression:
    """Metric math on one period's scalars; ``None`` is a missing datapoint (as in CloudWatch,
    arithmetic with a missing value is missing; FILL replaces it)."""

    def __init__(self, text: str, values: dict[str, float | None]) -> None:
        self.tokens = self._tokenize(text)
        self.at = 0
        self.values = values

    @staticmethod
    def _tokenize(text: str) -> list[str]:
        tokens, at = [], 0
        while at < len(text.rstrip()):
            match = _TOKEN.match(text, at)
            if not match:
                raise AssertionError(f"metric math this reader does not understand: {text[at:]!r}")
            tokens.append(next(g for g in match.groups() if g is not None))
            at = match.end()
        return tokens

    def _peek(self) -> str | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def _take(self, expected: str | None = None) -> str:
        token = self.tokens[self.at]
        if expected is not None and token != expected:
            raise AssertionError(f"expected {expected!r}, got {token!r}")
        self.at += 1
        return token

    def evaluate(self) -> float | None:
        value = self._comparison()
        if self._peek() is not None:
            raise AssertionError(f"unexpected {self._peek()!r}")
        return value

    def _comparison(self) -> float | None:
        left = self._sum()
        while self._peek() in (">=", "<=", ">", "<", "==", "!="):
            op, right = self._take(), self._sum()
            if left is None or right is None:
                left = None
                continue
            result = {
                ">=": left >= right,
                "<=": left <= right,
                ">": left > right,
                "<": left < right,
                "==": left == right,
                "!=": left != right,
            }[op]
            left = 1.0 if result else 0.0
        return left

    def _sum(self) -> float | None:
        left = self._product()
        while self._peek() in ("+", "-"):
            op, right = self._take(), self._product()
            left = None if left is None or right is None else (left + right if op == "+" else left - right)
        return left

    def _product(self) -> float | None:
        left = self._atom()
        while self._peek() in ("*", "/"):
            op, right = self._take(), self._atom()
            if left is None or right is None or (op == "/" and right == 0):
                left = None  # CloudWatch drops a division by zero
            else:
                left = left * right if op == "*" else left / right
        return left

    def _arguments(self) -> list[float | None]:
        self._take("(")
        arguments = [self._comparison()]
        while self._peek() == ",":
            self._take()
            arguments.append(self._comparison())
        self._take(")")
        return arguments

    def _atom(self) -> float | None:
        token = self._take()
        if token == "(":
            value = self._comparison()
            self._take(")")
            return value
        if token == "-":
            inner = self._atom()
            return None if inner is None else -inner
        if re.fullmatch(r"\d+(?:\.\d+)?", token):
            return float(token)
        if token == "FILL":
            value, filler = self._arguments()
            return filler if value is None else value
        if token == "IF":
            condition, then, otherwise = self._arguments()
            if condition is None:
                return None
            return then if condition != 0 else otherwise
        if token in self.values:
            return self.values[token]
        raise AssertionError(f"unknown id or function {token!r} in metric math")


def period_value(alarm: AlarmSpec, series: Series) -> float | None:
    """The alarm's value for one period whose datapoints are ``series``."""
    values = {q.id: statistic(series.values.get(q.key, []), q.stat) for q in alarm.queries}
    assert alarm.expression is not None
    return _Expression(alarm.expression, values).evaluate()


def breaches(alarm: AlarmSpec, value: float) -> bool:
    return {
        "GreaterThanOrEqualToThreshold": value >= alarm.threshold,
        "GreaterThanThreshold": value > alarm.threshold,
        "LessThanThreshold": value < alarm.threshold,
        "LessThanOrEqualToThreshold": value <= alarm.threshold,
    }[alarm.comparison]


def evaluate_alarm(alarm: AlarmSpec, periods: list[Series]) -> str:
    """ALARM or OK over the last ``EvaluationPeriods`` periods (M out of N)."""
    window = periods[-alarm.evaluation_periods :]
    breaching = 0
    for period in window:
        value = period_value(alarm, period)
        if value is None:
            if alarm.treat_missing_data == "breaching":
                breaching += 1
            continue  # notBreaching, ignore, missing: a missing point never breaches here
        breaching += breaches(alarm, value)
    return "ALARM" if breaching >= alarm.datapoints_to_alarm else "OK"
