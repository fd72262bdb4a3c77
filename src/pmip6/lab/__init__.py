"""Network-namespace labs (the draft's Figure 1) built through netlink."""
