"""Guanlian's batch stages as Spark DataFrame work (`guanlian link --engine spark`)."""
