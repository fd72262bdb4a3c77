"""The draft's Figure 1 as a demo: in one process on simulated time (and, with --netns, on real namespaces)."""
