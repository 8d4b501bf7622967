"""Judging past one process: `ray_data` runs the engine's judge as a Ray Data pipeline (`jurist judge --engine ray`).

Nothing here is imported by `jurist` itself; Ray is an optional extra (`jurist[ray]`), imported only when a run
starts.
"""
