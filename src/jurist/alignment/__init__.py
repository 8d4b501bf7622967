"""Judges where models are aligned: rewards for N candidate responses and best-of-N selection (reward.py), and how
a best-of-N selector is measured against recorded preferences (selection.py); preference pairs for DPO and KTO from
judged data (pairs.py) and a self-rewarding step (self_reward.py). The public functions are imported from their
modules (`jurist.areward`, `jurist.reward`, `jurist.build_pairs`, `jurist.self_reward`... at the top), so that
`jurist.alignment.reward` stays the module."""
