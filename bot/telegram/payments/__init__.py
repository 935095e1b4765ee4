"""Payment providers: each turns its own payments into purchases and refunds on the credits
ledger (`bot/lifecycle/billing.py`). Telegram Stars is the one there is (`stars.py`)."""
