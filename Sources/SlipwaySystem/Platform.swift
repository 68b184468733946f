// Slipway is a Linux server: the system layer uses glibc and calls only Linux has (pidfd_open, signalfd,
// PR_SET_CHILD_SUBREAPER, pipe2, bubblewrap's namespaces). Say so at once rather than with a hundred missing symbols.
#if !os(Linux)
    #error("Slipway builds and runs on Linux only (Debian 12 is what it is tested on).")
#endif
