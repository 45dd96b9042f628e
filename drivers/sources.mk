# The portable frontend-core sources, relative to drivers/. One list read by
# both builds: drivers/CMakeLists.txt parses it, Kbuild files include it.
# Add a file here and both the simulator and the kernel build pick it up.
XPV_CORE_SRCS := core/ring.c core/xs_parse.c
