"""The program: the ``opsctl`` console script, its Click group, one module per verb, and
``flask ops``.

Owns turning a command line into typed values, calling one function of a lower layer and
rendering what it returns. May import every other part of opsctl; nothing but
:mod:`opsctl` itself (the lazy ``run_directly``) imports it.

This ``__init__`` imports nothing: :mod:`opsctl.cli.main` must reach the lint's fast path
without loading Click.
"""
