"""The naming lint: rules (:mod:`.rules`), ``[tool.opsctl.lint]`` (:mod:`.settings`), the
one-pass walk (:mod:`.engine`, :mod:`.walk`, :mod:`.paths`) and what it collects on the way
(:mod:`.collector`: duplicates, near-twins, stale scripts, developers known to git through
:mod:`.authors`), the content rules (:mod:`.content`, import side effects in :mod:`.effects`
and :mod:`.calls`; what they found kept in the file cache and cold runs spread over the cores
by :mod:`.cache`; the scripts collected for them and for the cross-file rules held compactly
by :mod:`.scriptlist`), ``--fix`` (:mod:`.fix`), baselines (:mod:`.baseline`), output formats
(:mod:`.formats`, changed files first through :mod:`.changes`) and the Click-free command line
(:mod:`.fast`).

May import the ground floor (naming, copies, dates, catalogue, config, project, errors,
output, gitops); ``--fix`` alone reaches :mod:`opsctl.lifecycle` to record its moves in the
ledger. Never imports Click, Flask, SQLAlchemy or :mod:`opsctl.cli`, so ``opsctl lint`` stays
within 2x of a bare directory walk; git is started only when a rule needs the history.
"""
