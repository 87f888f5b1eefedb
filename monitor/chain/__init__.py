"""Talking to the chain: ABI encoding (pure) and the one RPC owner every reader asks."""
