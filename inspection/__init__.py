"""双随机、一公开: risk-weighted random inspection draws, inspectors drawn with conflicts
excluded through the graph, inspection outcomes fed back and their measured precision."""
