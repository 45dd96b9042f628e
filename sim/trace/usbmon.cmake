# xpv_usbmon: USB traffic as Linux usbmon records in a pcap file
# (usbmon.h). Included from sim/CMakeLists.txt after sim/run, so the
# harness (whose guest USB stack taps every URB) can link it.
pkg_check_modules(XPV_USBMON_PCAP REQUIRED IMPORTED_TARGET libpcap)
add_library(xpv_usbmon STATIC ${CMAKE_CURRENT_LIST_DIR}/usbmon.c)
target_link_libraries(xpv_usbmon PUBLIC xpv_sim PkgConfig::XPV_USBMON_PCAP)
target_link_libraries(xpv_harness PUBLIC xpv_usbmon)
