"""Running a script: loading the Flask app (:mod:`.app`), the script's entry point
(:mod:`.script`), opsctl's options among the script's (:mod:`.args`), dry runs
(:mod:`.dryrun`), the output tee (:mod:`.tee`), signals (:mod:`.signals`), the script API
(:mod:`.api`) and the run itself, recorded in the ledger (:mod:`.runner`).

May import the ground floor and :mod:`opsctl.ledger`; never :mod:`opsctl.cli`.
"""
