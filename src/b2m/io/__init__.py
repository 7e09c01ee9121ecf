"""Input and output at the edge: the patient JSON contract and batch files."""
