# The portable frontend-core sources, relative to drivers/. One list read by
# both builds: drivers/CMakeLists.txt parses it, Kbuild files include it.
# Add a file here and both the simulator and the kernel build pick it up.
# One `:=` line, then one `+=` line per frontend (CMake reads these forms).
XPV_CORE_SRCS := core/ring.c core/xs_parse.c
XPV_CORE_SRCS += scsifront/scsifront.c scsifront/scsifront_io.c
XPV_CORE_SRCS += usbfront/usbfront.c usbfront/usbfront_io.c
