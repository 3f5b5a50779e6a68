"""PyTorch networks whose weights no package ships; module names match the official checkpoints."""
