"""actors/topology.toml and actors/protocol.toml must match the code exactly, in both directions."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import tomllib
from pathlib import Path

import btcbot.actors.messages as messages
from btcbot.actors import topology
from btcbot.actors._base import BtcbotActor

SPEC = Path(__file__).resolve().parents[2] / "actors"


def _load(name: str) -> dict:
    return tomllib.loads((SPEC / name).read_text(encoding="utf-8"))


def _message_classes() -> dict[str, type]:
    return {
        name: cls for name, cls in inspect.getmembers(messages, inspect.isclass) if cls.__module__ == messages.__name__
    }


def test_every_message_class_is_in_the_protocol_and_vice_versa():
    spec = _load("protocol.toml")["message"]
    assert set(spec) == set(_message_classes())


def test_message_fields_and_types_match_the_protocol():
    spec = _load("protocol.toml")["message"]
    for name, cls in _message_classes().items():
        assert dataclasses.is_dataclass(cls), name
        params = cls.__dataclass_params__  # type: ignore[attr-defined]
        assert params.frozen, f"{name} must be frozen"
        fields = [(f.name, str(f.type)) for f in dataclasses.fields(cls)]
        assert fields == [(f["name"], f["type"]) for f in spec[name]["fields"]], name
        assert "trace" in dict(fields), f"{name} must carry a trace carrier"


def test_protocol_senders_and_receivers_are_known_and_delivery_is_tell_between_actors():
    spec = _load("protocol.toml")["message"]
    actors = {a.name for a in topology.ACTORS}
    known = actors | {"session", "supervisor", "*"}
    for name, entry in spec.items():
        assert entry["sender"] in known and entry["receiver"] in known, name
        assert entry["kind"] in ("command", "event", "query"), name
        assert entry["delivery"] in ("tell", "ask", "reply", "queue"), name
        if entry["sender"] in actors and entry["receiver"] in actors:
            assert entry["delivery"] == "tell", f"{name}: actors hand work on with tell only"
        if entry["delivery"] == "ask":
            assert entry["sender"] == "supervisor", f"{name}: only the supervisor asks (with a timeout)"


def test_topology_matches_the_code():
    spec = _load("topology.toml")
    actors = spec["actor"]
    assert list(actors) == [a.name for a in topology.ACTORS]
    for a in topology.ACTORS:
        entry = actors[a.name]
        assert entry["class"] == a.cls
        assert entry["parent"] == a.parent
        assert entry["restart"] == a.restart
        assert tuple(entry["may_block_on"]) == a.may_block_on
        module, _, cls_name = a.cls.rpartition(".")
        cls = getattr(importlib.import_module(module), cls_name)
        assert issubclass(cls, BtcbotActor)
        assert cls.actor_name == a.name
    sup = spec["supervisor"]
    for key in ("name", "kind", "on_failure", "max_restarts_setting", "window_setting", "on_budget_spent"):
        assert sup[key] == getattr(topology.SUPERVISOR, key), key
    assert sup["liveness_ping_timeout_s"] == topology.SUPERVISOR.liveness_ping_timeout_s
    assert tuple(spec["order"]["start"]) == topology.START_ORDER
    assert tuple(spec["order"]["stop"]) == topology.STOP_ORDER == tuple(reversed(topology.START_ORDER))
    assert tuple(spec["order"]["cycle_path"]) == topology.CYCLE_PATH


def test_every_actor_class_in_the_package_is_in_the_topology():
    import btcbot.actors.feed
    import btcbot.actors.freshness
    import btcbot.actors.orders
    import btcbot.actors.reconciler
    import btcbot.actors.risk
    import btcbot.actors.state_writer
    import btcbot.actors.strategy  # noqa: F401

    def subclasses(cls: type) -> set[type]:
        out = set()
        for sub in cls.__subclasses__():
            out |= {sub} | subclasses(sub)
        return out

    in_package = {c for c in subclasses(BtcbotActor) if c.__module__.startswith("btcbot.actors.")}
    assert {f"{c.__module__}.{c.__name__}" for c in in_package} == {a.cls for a in topology.ACTORS}


def test_settings_named_by_the_topology_exist():
    from btcbot.settings import Settings

    for key in ("max_restarts_setting", "window_setting"):
        assert getattr(topology.SUPERVISOR, key).lower() in Settings.model_fields
