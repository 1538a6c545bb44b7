"""The naming lint: rules (:mod:`.rules`), ``[tool.opsctl.lint]`` (:mod:`.settings`), the
one-pass walk (:mod:`.engine`), the content rules (:mod:`.content`), ``--fix`` (:mod:`.fix`),
baselines (:mod:`.baseline`), output formats (:mod:`.formats`) and the Click-free command
line (:mod:`.fast`).

May import the ground floor (naming, catalogue, config, project, errors, output, gitops);
``--fix`` alone reaches :mod:`opsctl.lifecycle` to record its moves in the ledger. Never
imports Click, Flask, SQLAlchemy or :mod:`opsctl.cli`, so ``opsctl lint`` stays within 2x of a
bare directory walk.
"""
