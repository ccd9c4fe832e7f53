"""The completions app: the contract's endpoints and the upstream clients behind them."""
