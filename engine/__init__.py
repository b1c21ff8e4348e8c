"""Connect Four engine: the rules and the solver, in pure standard-library Python."""
