"""`chaihuo node`: one organisation's party as a long-lived service (see docs/node.md)."""

from chaihuo.flow.node._config import NodeFileConfig, PeerConfig, load_node_config, starter_config
from chaihuo.flow.node._service import Node

__all__ = ["Node", "NodeFileConfig", "PeerConfig", "load_node_config", "starter_config"]
