"""Shared PyTorch machinery for the neural synthesizers: layout, conditioning, training loop."""
