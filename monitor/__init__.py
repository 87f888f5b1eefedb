"""cascade-monitor: exact health factors and liquidation-cascade projections for on-chain lending markets."""

__version__ = "0.1.0"
