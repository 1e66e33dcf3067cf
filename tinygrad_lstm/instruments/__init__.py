"""Instruments: what plugs into the engine's hook points to watch it work (``tl.Tape``,
``trace_backward``, ``detect_anomaly``, ``probe_gradients``, ``memory_by_step``)."""
