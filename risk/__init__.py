"""The explainable risk score of every enterprise and person of a run (`risk.score`), its
weights (`risk.config`, `risk/risk.yaml`), its evaluation against planted truth
(`risk.evaluate`) and the `evaluate-risk` command (`risk.cli`). Reads the run folder through
`runfolder` and the derived graph rows through `graph.tables`; `graph/` never imports it.
"""
