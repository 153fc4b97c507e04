"""Built-in scenario files (YAML); every figure in them names its source."""
