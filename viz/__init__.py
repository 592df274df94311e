"""viz: drawing tinygrad_edu computation graphs (the visualizer issue fills this in)."""
