"""Glue for ``mutmut run`` (README, Development): not a test module."""
