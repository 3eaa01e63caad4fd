"""Generated protobuf modules of the federation wire format (regenerate: scripts/gen_protos.sh)."""
