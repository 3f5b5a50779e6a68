"""dyadbench: run the Seamless Interaction and RealTalk benchmarks end to end."""

__version__ = "0.1.0"
