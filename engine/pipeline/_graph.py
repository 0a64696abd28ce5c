"""The run's graph: nodes are plain typed functions whose parameter names are their inputs.

>>> @node(title="Doubling")
... def doubled(numbers: list[int]) -> list[int]:
...     return [2 * n for n in numbers]
>>> doubled.inputs
('numbers',)

The runner builds the graph from the signatures (the Hamilton idea): a node named `case_months`
with a parameter `registry` takes what the node `registry` returned. A few names are not nodes but
given by the runner (`ROOTS`): `spec` (the run spec), `run` (the run's id, folder and facts) and
`plan` (which nodes this run computes). `products` is every product the spec asks for before
the node (the report reads them all).

Which node answers to a name may depend on the spec (`when=`): two nodes `claims` (one from the
case-months, one from the priced forecast) each say when they apply, as Hamilton's
`@config.when` does; exactly one must.

A node's cache key hashes its name, the code, the spec parameters (`params=`) and input files
(`reads=`) it declares, and the keys of the nodes it takes: a node whose key is unchanged is the
same result. `Graph.order` is every node the spec's products need, each once, in an order where
each comes after its inputs; a missing input or a cycle is a `ConfigError`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import ConfigError
from engine.pipeline._step import StepDef

__all__ = ["PRODUCTS", "ROOTS", "Graph", "Node", "node", "product"]

ROOTS = ("spec", "run", "plan")  # given by the runner, not computed by nodes
PRODUCTS = "products"  # every product the spec asks for before the node


@dataclass(frozen=True)
class Node:
    """One node: a function, the names of its inputs, and what its result depends on."""

    name: str
    fn: Callable[..., Any]
    inputs: tuple[str, ...]
    title: str = ""
    reads: tuple[str, ...] = ()  # input roles whose content it reads (extract, funding_model...)
    params: tuple[str, ...] = ()  # spec parameters that change its result
    requires: tuple[str, ...] = ()  # spec keys that must be set for it
    cache: bool = False  # its result is kept in the step cache, by key
    is_product: bool = False  # returns a `StepOutput`: may be listed in a spec's `steps:`
    publishes: tuple[str, ...] | None = None  # a product's tables (for `--dry-run`); None: unknown
    when: Callable[[Any], bool] | None = None  # which spec this implementation is for
    optional: tuple[str, ...] = ()  # inputs taken only when the spec asks for them
    annotations: Mapping[str, str] = field(default_factory=dict)  # input -> declared type
    returns: str = ""  # declared result type

    needs: tuple[str, ...] = ()  # products that must be listed before it (the spec reader asks)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)


def _type_name(annotation: Any) -> str:
    if annotation is inspect.Signature.empty:
        return ""
    return annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")


def _make(fn: Callable[..., Any], **options: Any) -> Node:
    signature = inspect.signature(fn)
    inputs = tuple(signature.parameters)
    name = options.pop("name", None) or fn.__name__
    return Node(
        name=name,
        fn=fn,
        inputs=inputs,
        annotations={p: _type_name(signature.parameters[p].annotation) for p in inputs},
        returns=_type_name(signature.return_annotation),
        **options,
    )


def node(
    *,
    title: str = "",
    reads: tuple[str, ...] = (),
    params: tuple[str, ...] = (),
    cache: bool = False,
    when: Callable[[Any], bool] | None = None,
    name: str | None = None,
) -> Callable[[Callable[..., Any]], Node]:
    """Declare a function as a node of the run's graph (its inputs are its parameter names)."""

    def wrap(fn: Callable[..., Any]) -> Node:
        return _make(fn, title=title, reads=reads, params=params, cache=cache, when=when, name=name)

    return wrap


def product(
    *,
    title: str = "",
    publishes: tuple[str, ...] = (),
    reads: tuple[str, ...] = (),
    params: tuple[str, ...] = (),
    requires: tuple[str, ...] = (),
    cache: bool = False,
) -> Callable[[Callable[..., Any]], Node]:
    """Declare a product: a node returning a `StepOutput`, which a spec's `steps:` may ask for."""

    def wrap(fn: Callable[..., Any]) -> Node:
        return _make(
            fn,
            title=title,
            publishes=publishes,
            reads=reads,
            params=params,
            requires=requires,
            cache=cache,
            is_product=True,
        )

    return wrap


def _from_step(step: StepDef) -> Node:
    """A step written the older way (`StepContext -> StepOutput`) as a node: its inputs are the
    steps it needs, and those it comes after when the spec asks for them."""
    from engine.pipeline._step import StepContext

    def run(spec: Any, run: Any, **upstream: Any) -> Any:
        context = StepContext(
            spec, run.run_id, upstream, run.workdir, run.accept_quarantine, run.facts
        )
        return step.run(context)

    return Node(
        name=step.name,
        fn=run,
        inputs=("spec", "run", *step.needs, *step.after),
        title=step.title,
        reads=step.inputs,
        params=step.params,
        requires=step.requires,
        cache=step.cacheable,
        is_product=True,
        optional=step.after,
        needs=step.needs,
        returns="StepOutput",
    )


def as_nodes(catalogue: Mapping[str, Node | StepDef]) -> list[Node]:
    return [d if isinstance(d, Node) else _from_step(d) for d in catalogue.values()]


class Graph:
    """The nodes a spec's products need, resolved for that spec, in topological order."""

    def __init__(
        self,
        catalogue: Mapping[str, Node | StepDef],
        products: Iterable[str],
        spec: Any,
        *,
        path: Path | None = None,
    ) -> None:
        self.path = path
        self.products = tuple(products)
        self.nodes = self._resolve(as_nodes(catalogue), spec)
        for name in self.products:
            if name not in self.nodes or not self.nodes[name].is_product:
                raise ConfigError(f"'{name}' is not a product of this engine", path=path)
        self.deps: dict[str, tuple[str, ...]] = {}
        self.order: list[str] = []
        visiting: list[str] = []
        for name in self.products:
            self._visit(name, visiting)

    def _resolve(self, nodes: list[Node], spec: Any) -> dict[str, Node]:
        chosen: dict[str, Node] = {}
        for candidate in nodes:
            if candidate.when is not None and not candidate.when(spec):
                continue
            if candidate.name in chosen:
                raise ConfigError(
                    f"two nodes answer to '{candidate.name}' for this spec", path=self.path
                )
            chosen[candidate.name] = candidate
        return chosen

    def _inputs_of(self, name: str) -> tuple[str, ...]:
        item = self.nodes[name]
        found: list[str] = []
        for param in item.inputs:
            if param in ROOTS:
                continue
            if param == PRODUCTS:
                earlier = (
                    self.products[: self.products.index(name)] if name in self.products else ()
                )
                found += [p for p in earlier if p != name]
            elif param in item.optional:
                if param in self.products:
                    found.append(param)
            else:
                found.append(param)
        return tuple(found)

    def _visit(self, name: str, visiting: list[str]) -> None:
        if name in self.deps:
            return
        if name in visiting:
            cycle = " -> ".join([*visiting[visiting.index(name) :], name])
            raise ConfigError(f"the run's graph has a cycle: {cycle}", path=self.path)
        visiting.append(name)
        deps = self._inputs_of(name)
        for dep in deps:
            if dep not in self.nodes:
                raise ConfigError(
                    f"node '{name}' takes '{dep}', which no node makes (and the runner does not "
                    f"give: {', '.join(ROOTS)})",
                    path=self.path,
                )
            self._check_type(name, dep)
            self._visit(dep, visiting)
        visiting.pop()
        self.deps[name] = deps
        self.order.append(name)

    def _check_type(self, name: str, dep: str) -> None:
        wanted = self.nodes[name].annotations.get(dep, "")
        made = self.nodes[dep].returns
        if wanted and made and wanted != made:
            raise ConfigError(
                f"node '{name}' takes '{dep}' as {wanted}, but node '{dep}' returns {made}",
                path=self.path,
            )

    def descendants(self, name: str) -> set[str]:
        """`name` and every node of the graph that depends on it, directly or not."""
        if name not in self.deps:
            known = ", ".join(self.order)
            raise ConfigError(
                f"--only {name}: no such node in this run's graph; its nodes: {known}",
                path=self.path,
            )
        found = {name}
        for other in self.order:  # topological: an input is met before what takes it
            if any(d in found for d in self.deps[other]):
                found.add(other)
        return found

    def consumers(self) -> dict[str, int]:
        """How many nodes of the graph take each node (to free a value once all have it)."""
        counts = dict.fromkeys(self.order, 0)
        for name in self.order:
            for dep in self.deps[name]:
                counts[dep] += 1
        return counts
