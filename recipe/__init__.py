"""What AlphaMed adds around veRL: generation backends, difficulty, mixes, evaluation and recipe checking."""
