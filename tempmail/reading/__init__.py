"""Reading mail an attacker wrote: the pieces that keep each stage's cost linear in its size."""
