"""The run ledger: what is known without SQLAlchemy (:mod:`.facts`) and the store on its own
SQLAlchemy engine (:mod:`.store`): runs, moves, locks, and the schema's upgrades.

May import only the ground floor's errors, config and output; it knows nothing of commands,
the lint or how history is shown. Rows never leave it: callers get frozen values.

This ``__init__`` imports nothing, so reading :mod:`.facts` never loads SQLAlchemy.
"""
